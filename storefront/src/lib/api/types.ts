import type { components } from "./schema";

type Schemas = components["schemas"];
export type Cart = Schemas["Cart"];
export type CartItem = Schemas["CartItem"];
export type SavedItem = Schemas["SavedItem"];
export type Totals = Schemas["Totals"];
export type AppliedDiscount = Schemas["AppliedDiscount"];
export type Validation = Schemas["Validation"];
export type ValidationIssue = Schemas["ValidationIssue"];
export type CheckoutResult = Schemas["CheckoutResult"];
export type MergeReport = Schemas["MergeReport"];
export type MergeResult = Schemas["MergeResult"];
export type SyncConflict = Schemas["SyncConflict"];
export type SyncResult = Schemas["SyncResult"];
export type SyncLine = Schemas["SyncLine"];
export type Lists = Schemas["Lists"];
export type ListSummary = Schemas["ListSummary"];
export type ShoppingList = Schemas["ShoppingList"];
export type ListItem = Schemas["ListItem"];
export type ListMove = Schemas["ListMove"];
export type AddedLine = Schemas["AddedLine"];
export type AddedToCart = Schemas["AddedToCart"];
export type ShareLink = Schemas["ShareLink"];
export type ShareLinks = Schemas["ShareLinks"];
export type SharedCart = Schemas["SharedCart"];
export type SharedItem = Schemas["SharedItem"];
export type ReorderResult = Schemas["ReorderResult"];
export type ChangeProblem = Schemas["ChangeProblem"];

/** RFC 9457 problem details as the API sends them: a stable `code` plus the problem's own fields. */
export type Problem = Schemas["Problem"] & {
  maxAvailable?: number;
  inCart?: number;
  currentVersion?: number;
  cart?: Cart;
  reason?: string;
  loginUrl?: string;
  issues?: ValidationIssue[];
  /** 409 `price_changed`: the lines whose price moved again since the shopper was shown it. */
  lines?: { itemId: string; shownPrice: number; unitPrice: number }[];
  [key: string]: unknown;
};

/** What every server action answers: the API's result, or its problem (never a thrown error). */
export type ActionResult<T> =
  | { ok: true; data: T }
  | { ok: false; status: number; problem: Problem; retryable: boolean };

/** An empty cart, as `GET /cart` answers before the first add. */
export const EMPTY_CART: Cart = {
  id: null,
  version: 0,
  currency: "USD",
  items: [],
  itemCount: 0,
  subtotal: 0,
  totals: { subtotal: 0, discount: 0, shipping: 0, tax: 0, total: 0, freeShippingRemaining: 0, taxRate: 0, taxIncluded: false },
  discountCodes: [],
  savedForLater: [],
};

/** `getCart({ ifNoneMatch })` answered 304: the cart is still the version the page shows. */
export const isUnchanged = (result: ActionResult<unknown>): boolean => !result.ok && result.status === 304;
