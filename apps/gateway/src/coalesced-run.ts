/**
 * A job that runs one pass at a time: a call while a pass runs shares that pass's promise and
 * asks for one more pass after it, so a burst of triggers (NOTIFYs, polls) costs at most two
 * passes and never two at once. Used by the config reload and the credential feed's catch-up.
 */
export class CoalescedRun {
  #running: Promise<void> | null = null;
  #again = false;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly stopped: () => boolean,
  ) {}

  /** The pass in progress, or null. */
  get running(): Promise<void> | null {
    return this.#running;
  }

  /** Asks for one more pass after the current one (a pass that found its input outdated). */
  again(): void {
    this.#again = true;
  }

  run(): Promise<void> {
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.pass();
      } while (this.#again && !this.stopped());
    })().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }
}
