-- An adopted guest cart (the user had none, so it was re-keyed to the user) remembers the guest
-- session it came from, so a replayed merge is recognised as already done.
alter table cart add column adopted_from_session text;
create index cart_adopted_from_session on cart (adopted_from_session) where adopted_from_session is not null;
