from typing import Annotated, Any

from cart_common import catalog
from cart_common.api import Path, Query, Response, handler_for, make_app, responses
from cart_common.models import CatalogPage, CatalogProduct, Slug

# Public: no guard, and no route asks for the session, so none is started and no cookie is set.
app = make_app()


def _ok(model: type) -> Any:
    return {200: {"description": "Cacheable (ETag, Cache-Control)", "content": {"application/json": {"model": model}}}}


@app.get("/catalog/products", responses=responses() | _ok(CatalogPage))
def list_catalog(
    cursor: Annotated[Slug | None, Query(description="nextCursor of the page before")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Response[Any]:
    return catalog.list_products(cursor=cursor, limit=limit, headers=app.request_headers)


@app.get("/catalog/products/<slug>", responses=responses(404) | _ok(CatalogProduct))
def get_catalog_product(slug: Annotated[Slug, Path()]) -> Response[Any]:
    return catalog.get_product(slug, app.request_headers)


lambda_handler = handler_for(app)
