"""Guest tokens: signed, unguessable, checked without a database."""

from __future__ import annotations

import base64

from cart_common.session import hash_token, mint_token, resolve_guest, verify_token

KEY = (b"k" * 40,)


def test_a_minted_token_verifies_and_carts_are_keyed_by_its_hash() -> None:
    token = mint_token(KEY)
    assert verify_token(token, KEY)
    assert hash_token(token) != token and len(hash_token(token)) == 64


def test_tokens_carry_at_least_128_random_bits_and_never_repeat() -> None:
    tokens = {mint_token(KEY) for _ in range(1000)}
    assert len(tokens) == 1000
    random_part = next(iter(tokens)).split(".")[1]
    assert len(base64.urlsafe_b64decode(random_part + "==")) * 8 >= 128


def test_a_token_signed_with_another_key_or_altered_is_rejected() -> None:
    token = mint_token(KEY)
    assert not verify_token(token, (b"x" * 40,))
    version, random_part, signature = token.split(".")
    flipped = random_part[:-1] + ("A" if random_part[-1] != "A" else "B")
    assert not verify_token(f"{version}.{flipped}.{signature}", KEY)


def test_rotation_signs_with_the_first_key_and_accepts_the_others() -> None:
    old, new = b"o" * 40, b"n" * 40
    legacy = mint_token((old,))
    assert verify_token(legacy, (new, old))
    assert verify_token(mint_token((new, old)), (new,))


def test_the_header_wins_over_the_cookie_and_a_bad_one_falls_back_to_the_cookie() -> None:
    from cart_common.config import Settings

    settings = Settings(session_signing_key="k" * 40)
    header_token, cookie_token = mint_token(KEY), mint_token(KEY)
    cookies = ["theme=dark", f"cart_session={cookie_token}"]
    assert resolve_guest({"x-cart-session": header_token}, cookies, settings).guest_token == header_token
    assert resolve_guest({"x-cart-session": "forged"}, cookies, settings).guest_token == cookie_token
    fresh = resolve_guest({}, ["cart_session=forged"], settings)
    assert fresh.is_new and fresh.guest_token != "forged"
