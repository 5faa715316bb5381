/**
 * A driver's sockets are unref'd so that a script ends when its own work ends
 * (Ray shuts down at exit too). While the driver waits on the cluster (a pending
 * get/wait or task), this holds one ref'd timer so Node does not exit mid-wait.
 * Workers are kept alive by their node-manager connection instead.
 */
export class KeepAlive {
  private holds = 0;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(enabled: boolean) {
    if (enabled) this.timer = setInterval(noop, 1 << 30).unref();
  }

  /** Keep the process alive until the matching release(). */
  hold(): void {
    if (this.holds++ === 0) this.timer?.ref();
  }

  release(): void {
    if (this.holds === 0) return;
    if (--this.holds === 0) this.timer?.unref();
  }

  close(): void {
    this.holds = 0;
    if (this.timer) clearInterval(this.timer);
  }
}

function noop(): void {}
