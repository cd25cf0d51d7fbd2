from typing import Annotated, Any
from uuid import UUID

from cart_common import catalog
from cart_common.admin import require_admin
from cart_common.api import Path, Response, handler_for, make_app, responses
from cart_common.models import (
    AdminDiscountCode,
    AdminProduct,
    DiscountCodeText,
    NewDiscountCode,
    NewProduct,
    NewVariant,
    ProductChanges,
    StockLevel,
    VariantChanges,
)

# One function for every catalog and discount-code edit (docs/admin.md: why not one per route).
app = make_app(guard=require_admin)
ProductId = Annotated[UUID, Path(alias="productId")]
VariantId = Annotated[UUID, Path(alias="variantId")]
# What a create answers (docs/admin.md): 201 with the product.
CREATED: dict[int, Any] = {
    201: {"description": "Created: the product", "content": {"application/json": {"model": AdminProduct}}}
}


@app.post("/admin/products", responses=responses(401, 403, 409) | CREATED)
def create_product(body: NewProduct) -> Response[AdminProduct]:
    return catalog.create_product(body)


@app.patch("/admin/products/<productId>", responses=responses(401, 403, 404, 409))
def update_product(product_id: ProductId, body: ProductChanges) -> Response[AdminProduct]:
    return catalog.update_product(product_id, body, app.request_headers)


@app.put("/admin/products/<productId>/stock", responses=responses(401, 403, 404, 409))
def set_product_stock(product_id: ProductId, body: StockLevel) -> Response[AdminProduct]:
    return catalog.set_product_stock(product_id, body.stock, app.request_headers)


@app.post("/admin/products/<productId>/variants", responses=responses(401, 403, 404, 409) | CREATED)
def create_variant(product_id: ProductId, body: NewVariant) -> Response[AdminProduct]:
    return catalog.create_variant(product_id, body, app.request_headers)


@app.patch("/admin/variants/<variantId>", responses=responses(401, 403, 404, 409))
def update_variant(variant_id: VariantId, body: VariantChanges) -> Response[AdminProduct]:
    return catalog.change_variant(variant_id, body, app.request_headers)


@app.put("/admin/variants/<variantId>/stock", responses=responses(401, 403, 404, 409))
def set_variant_stock(variant_id: VariantId, body: StockLevel) -> Response[AdminProduct]:
    return catalog.set_variant_stock(variant_id, body.stock, app.request_headers)


@app.post("/admin/discount-codes", responses=responses(401, 403, 409))
def create_discount_code(body: NewDiscountCode) -> AdminDiscountCode:
    return catalog.create_discount_code(body)


@app.delete("/admin/discount-codes/<code>", responses=responses(401, 403, 404))
def retire_discount_code(code: DiscountCodeText) -> AdminDiscountCode:
    return catalog.retire_discount_code(code)


lambda_handler = handler_for(app)
