from typing import Annotated, Any
from uuid import UUID

from cart_common import lists, shares
from cart_common.api import Path, Response, handler_for, make_app, responses
from cart_common.models import (
    AddedToCart,
    AddItem,
    ListChanges,
    ListMove,
    Lists,
    MoveToList,
    NewList,
    NewShareLink,
    ShareLink,
    ShareLinks,
    ShoppingList,
)

# One function for every route that keeps a shopper's lists and share links (docs/lists.md: why not
# one per route, and why the shared-cart routes have a function of their own).
app = make_app()
ListId = Annotated[UUID, Path(alias="listId")]
ListItemId = Annotated[UUID, Path(alias="listItemId")]
ItemId = Annotated[UUID, Path(alias="itemId")]
ShareId = Annotated[UUID, Path(alias="shareId")]


def created(model: type) -> dict[int, Any]:
    """What a create answers (docs/lists.md): 201 with what it made."""
    return {201: {"description": "Created", "content": {"application/json": {"model": model}}}}


def answer_created[T](body: T) -> Response[T]:
    return Response(status_code=201, content_type="application/json", body=body)


@app.get("/lists", responses=responses())
def get_lists() -> Lists:
    return lists.get_lists(app.session)


@app.post("/lists", responses=responses() | created(ShoppingList))
def create_list(body: NewList) -> Response[ShoppingList]:
    return lists.create_list(app.session, body)


@app.get("/lists/<listId>", responses=responses(404))
def get_list(list_id: ListId) -> Response[ShoppingList]:
    return lists.get_list(app.session, list_id)


@app.patch("/lists/<listId>", responses=responses(404, 409))
def rename_list(list_id: ListId, body: ListChanges) -> Response[ShoppingList]:
    return lists.rename_list(app.session, list_id, body)


@app.delete("/lists/<listId>", responses=responses(404, 409))
def delete_list(list_id: ListId) -> Lists:
    return lists.delete_list(app.session, list_id)


@app.post("/lists/<listId>/items", responses=responses(404, 409))
def add_list_item(list_id: ListId, body: AddItem) -> Response[ShoppingList]:
    return lists.add_list_item(app.session, list_id, body)


@app.delete("/lists/<listId>/items/<listItemId>", responses=responses(404, 409))
def remove_list_item(list_id: ListId, list_item_id: ListItemId) -> Response[ShoppingList]:
    return lists.remove_list_item(app.session, list_id, list_item_id)


@app.post("/lists/<listId>/items/<listItemId>/move-to-cart", responses=responses(404, 409))
def move_to_cart(list_id: ListId, list_item_id: ListItemId) -> ListMove:
    return lists.move_to_cart(app.session, list_id, list_item_id)


@app.post("/lists/<listId>/restore", responses=responses(404, 409))
def restore_list(list_id: ListId) -> AddedToCart:
    return lists.restore_list(app.session, list_id)


@app.post("/cart/items/<itemId>/move-to-list", responses=responses(404, 409))
def move_to_list(item_id: ItemId, body: MoveToList) -> ListMove:
    return lists.move_to_list(app.session, item_id, body)


@app.post("/cart/save-as-list", responses=responses(409) | created(ShoppingList))
def save_cart_as_list(body: NewList) -> Response[ShoppingList]:
    return lists.create_list(app.session, body, from_cart=True)


@app.post("/cart/share", responses=responses(409) | created(ShareLink))
def share_cart(body: NewShareLink) -> Response[ShareLink]:
    return answer_created(shares.create_share(app.session, body))


@app.post("/lists/<listId>/share", responses=responses(404) | created(ShareLink))
def share_list(list_id: ListId, body: NewShareLink) -> Response[ShareLink]:
    return answer_created(shares.create_share(app.session, body, list_id))


@app.get("/shares", responses=responses())
def get_shares() -> ShareLinks:
    return shares.get_shares(app.session)


@app.delete("/shares/<shareId>", responses=responses(404))
def revoke_share(share_id: ShareId) -> ShareLinks:
    return shares.revoke_share(app.session, share_id)


lambda_handler = handler_for(app)
