// The Price task's listener: a 20 % tax on the subtotal Enrich found.
//
// Input: {"order": {...}, "enriched": {..., "subtotal": 7}}
// Answer: {"subtotal": 7, "tax": 1.4, "total": 8.4}
// Handler: index.handler (Node.js, zip package with the helper in node_modules/@eventdriven/listener).
import { finish, listener } from "@eventdriven/listener";

interface PriceInput {
  order: { id: string };
  enriched: { subtotal: number };
}

const TAX_RATE = 0.2;

/** Rounds to cents. */
const cents = (amount: number): number => Math.round((amount + Number.EPSILON) * 100) / 100;

export const handler = listener<PriceInput>(async (event) => {
  const subtotal = event.input.enriched?.subtotal;
  if (typeof subtotal !== "number" || !Number.isFinite(subtotal)) {
    throw new TypeError(`order ${event.input.order?.id} has no numeric subtotal: ${JSON.stringify(subtotal)}`);
  }
  const tax = cents(subtotal * TAX_RATE);
  return finish({ subtotal, tax, total: cents(subtotal + tax) });
});
