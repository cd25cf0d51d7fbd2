"use server";

/**
 * The demo payment step (local stack only). In AWS the shop's payment service publishes
 * `PaymentSucceeded` to the stack's event bus and the completion consumer turns the reservation
 * into an order; locally `make dev` sets CART_DEMO_PAYMENTS=1 and the storefront's server plays
 * that service, putting the event on the local bus (`POST /dev/events`), which runs the consumer
 * before it answers. Without the setting this action refuses, and the page shows no button.
 */
import { api, apiUrl, changeHeaders, settle } from "@/lib/api/client";
import type { ActionResult, Problem, ReorderResult } from "@/lib/api/types";

export async function demoPaymentsEnabled(): Promise<boolean> {
  return process.env.CART_DEMO_PAYMENTS === "1";
}

const problem = (status: number, code: string, detail: string): Problem => ({
  type: `/problems/${code}`,
  title: detail,
  status,
  detail,
  code,
});

/** Pays for the reservation `checkoutId` with a new order id; answers that order id. */
export async function placeDemoOrder(checkoutId: string): Promise<ActionResult<{ orderId: string }>> {
  if (!(await demoPaymentsEnabled())) {
    return { ok: false, status: 404, problem: problem(404, "demo_payments_off", "Payments are taken by the shop's payment service."), retryable: false };
  }
  if (!/^[0-9a-f-]{36}$/i.test(checkoutId)) {
    return { ok: false, status: 422, problem: problem(422, "validation_failed", "That is not a reservation."), retryable: false };
  }
  const orderId = crypto.randomUUID();
  const event = { source: "shop.orders", "detail-type": "PaymentSucceeded", detail: { checkoutId, orderId } };
  try {
    const response = await fetch(`${apiUrl()}/dev/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(event),
      cache: "no-store",
    });
    if (!response.ok) {
      return { ok: false, status: response.status, problem: problem(response.status, `http_${response.status}`, "The payment could not be taken. Please try again."), retryable: response.status >= 500 };
    }
  } catch {
    return { ok: false, status: 503, problem: problem(503, "api_unreachable", "The payment service could not be reached. Please try again."), retryable: true };
  }
  return { ok: true, data: { orderId } };
}

/** "Buy again": the lines of the shopper's completed order `orderId` back into their cart, each as
 * it fits now (`POST /cart/reorder`: what cannot be added is in `skipped`, with its problem). One
 * `idempotencyKey` per order shown, so a second click or a retried request adds the lines once. */
export async function buyAgain(orderId: string, idempotencyKey: string): Promise<ActionResult<ReorderResult>> {
  const headers = await changeHeaders({ idempotencyKey });
  return settle(() => api.POST("/cart/reorder", { body: { orderId }, headers }));
}
