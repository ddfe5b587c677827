/**
 * A bounded window of recently seen message ids: drops a message delivered twice (a replay
 * overlapping what the previous connection already delivered) without growing without bound
 * on a cell that prints millions of messages. Pure: the execution machine keeps one per run.
 *
 * Spec: docs/jupyter-protocol.md (reconnect with the same session_id; the server replays).
 * @module
 */
export class SeenIds {
  private readonly set = new Set<string>();
  /** The ids in arrival order, oldest at `next` once full: grown as ids come (most runs see few). */
  private readonly ring: string[] = [];
  private next = 0;
  duplicates = 0;

  constructor(private readonly capacity = 50_000) {}

  /** True when `id` was seen before (and counts it); otherwise remembers it. */
  check(id: string): boolean {
    if (this.set.has(id)) {
      this.duplicates++;
      return true;
    }
    if (this.ring.length < this.capacity) {
      this.ring.push(id);
    } else {
      this.set.delete(this.ring[this.next]!);
      this.ring[this.next] = id;
      this.next = (this.next + 1) % this.capacity;
    }
    this.set.add(id);
    return false;
  }
}
