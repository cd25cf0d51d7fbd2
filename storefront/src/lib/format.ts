/** Minor units to a price label, e.g. 1999 USD → "$19.99". */
export function money(minor: number, currency = "USD"): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(minor / 100);
}

export function attributeLabel(attributes: Record<string, unknown>): string {
  return Object.entries(attributes)
    .map(([k, v]) => `${k[0]?.toUpperCase()}${k.slice(1)}: ${String(v)}`)
    .join(" · ");
}

/** Each problem code as a sentence a shopper understands (the API's detail is the fallback). */
export function discountMessage(problem: { code: string; detail: string; reason?: string; minSubtotal?: number }, currency = "USD"): string {
  if (problem.code === "discount_code_invalid") {
    switch (problem.reason) {
      case "unknown": return "We don't recognise that code.";
      case "expired": return "That code has expired.";
      case "not_yet_valid": return "That code isn't active yet.";
      case "inactive": return "That code is no longer available.";
      case "usage_limit_reached": return "That code has been used up.";
      case "minimum_not_met":
        return typeof problem.minSubtotal === "number"
          ? `Spend at least ${money(problem.minSubtotal, currency)} to use that code.`
          : "Your cart doesn't reach that code's minimum yet.";
      case "currency_mismatch": return "That code is for another currency.";
    }
  }
  if (problem.code === "cart_empty") return "Add something to your cart before applying a code.";
  if (problem.code === "validation_failed") return "Enter a discount code.";
  return problem.detail;
}

/** A problem as a shopper reads it in a toast: the codes whose `detail` is written for developers
 * get a sentence; every other problem's `detail` is already one. */
export function problemMessage(problem: {
  code: string;
  detail: string;
  reason?: string;
  limit?: string;
  allowed?: number;
  policy?: string;
  retryAfter?: number;
}): string {
  switch (problem.code) {
    case "rate_limited": {
      const wait = typeof problem.retryAfter === "number" ? ` in ${waitLabel(problem.retryAfter)}` : " later";
      return problem.policy === "guest-carts"
        ? `Too many new carts were started from your network. Please try again${wait}.`
        : `Too many changes in a short time. Please try again${wait}.`;
    }
    case "restricted":
      if (problem.reason === "requires_auth") return "Sign in to buy this item.";
      if (problem.reason === "max_per_customer") return "You already have the most of this item one customer may buy.";
      return "This item can't be added to your cart.";
    case "limit_exceeded":
      if (problem.limit === "maxLinesPerCart") return `Your cart can hold at most ${problem.allowed} different items.`;
      if (problem.limit === "maxCartValue") return "Your cart has reached the most it may be worth.";
      return `You can buy at most ${problem.allowed} of this item.`;
    case "price_changed":
      return "A price changed again before you accepted it. Check the new price.";
    case "product_unavailable":
      return "This item is no longer sold; remove it from your cart.";
    case "product_not_found":
    case "item_not_found":
    case "saved_item_not_found":
      return "That item is no longer available. Your cart has been refreshed.";
    case "variant_required":
      return "Choose an option first.";
    default:
      return problem.detail;
  }
}

/** Seconds to wait, as a shopper reads them: "20 seconds", "1 minute", "20 minutes". */
function waitLabel(seconds: number): string {
  if (seconds < 60) return `${seconds} ${seconds === 1 ? "second" : "seconds"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} ${minutes === 1 ? "minute" : "minutes"}`;
}
