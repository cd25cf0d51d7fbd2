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
