/**
 * Coalescing: quantity changes to a line made in a burst (stepper clicks, a typed quantity) show at
 * once, fold into one journal entry holding the last quantity, and reach the API as ONE PATCH once
 * the line has been quiet for QUIET_MS. A PATCH already on its way is never folded into: clicks
 * after it start a new burst, whose PATCH follows with the final quantity, so the cart always ends
 * at what the shopper last saw. Each click would otherwise be its own request and spend one of the
 * API's per-minute rate-limit tokens.
 */
export const QUIET_MS = 300;

export class Bursts {
  private timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly fire: (id: string) => void) {}

  /** (Re)starts entry `id`'s quiet period. */
  hold(id: string): void {
    clearTimeout(this.timers.get(id));
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        this.fire(id);
      }, QUIET_MS),
    );
  }

  has(id: string): boolean {
    return this.timers.has(id);
  }

  drop(id: string): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  /** Ends every quiet period now (another kind of change must not overtake them): their ids, in
   * the order the bursts began. */
  release(): string[] {
    const ids = [...this.timers.keys()];
    ids.forEach((id) => this.drop(id));
    return ids;
  }
}
