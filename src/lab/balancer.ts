/**
 * The lab's load balancer in front of the kube-apiservers: a TCP pass-through (TLS ends at the apiservers,
 * whose certificates carry the balancer's address), round robin over backends whose /readyz answered 200 at
 * the last check (every second), trying the next backend when a connection is refused or times out.
 * It runs inside the lab supervisor, so it lives and dies with the lab; docs/lab.md says why not HAProxy.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Backend {
  name: string;
  host: string;
  port: number;
}

export interface BalancerOptions {
  host: string;
  port: number;
  backends: Backend[];
  /** Whether a backend is ready to take traffic. */
  check: (b: Backend) => Promise<boolean>;
  checkEveryMs?: number;
  connectTimeoutMs?: number;
}

export class TcpBalancer {
  private readonly ready = new Map<string, boolean>();
  private next = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly open = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly opts: BalancerOptions,
  ) {
    this.timer = setInterval(() => void this.checkAll(), opts.checkEveryMs ?? 1000);
    this.timer.unref();
  }

  static async start(opts: BalancerOptions): Promise<TcpBalancer> {
    const server = createServer({ pauseOnConnect: true });
    const self = new TcpBalancer(server, opts);
    server.on('connection', (client: Socket) => self.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve());
    }).catch((err: unknown) => {
      clearInterval(self.timer);
      throw err;
    });
    await self.checkAll();
    return self;
  }

  get address(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  /** Backend name → ready at the last check. */
  readiness(): Record<string, boolean> {
    return Object.fromEntries(this.opts.backends.map((b) => [b.name, this.ready.get(b.name) ?? false]));
  }

  async checkAll(): Promise<void> {
    await Promise.all(
      this.opts.backends.map(async (b) => {
        const ok = await this.opts.check(b).catch(() => false);
        this.ready.set(b.name, ok);
      }),
    );
  }

  private order(): Backend[] {
    const all = this.opts.backends;
    const start = this.next++ % Math.max(1, all.length);
    const rotated = [...all.slice(start), ...all.slice(0, start)];
    const ready = rotated.filter((b) => this.ready.get(b.name));
    // Ready ones first; the others still get a try (the last check may be a second old).
    return [...ready, ...rotated.filter((b) => !this.ready.get(b.name))];
  }

  private accept(client: Socket): void {
    this.open.add(client);
    client.on('close', () => this.open.delete(client));
    client.on('error', () => undefined);
    const candidates = this.order();
    const attempt = (i: number): void => {
      const b = candidates[i];
      if (!b || client.destroyed) {
        client.destroy();
        return;
      }
      const upstream = connect({ host: b.host, port: b.port });
      const timer = setTimeout(
        () => upstream.destroy(new Error('connect timeout')),
        this.opts.connectTimeoutMs ?? 1000,
      );
      let connected = false;
      upstream.on('error', () => {
        clearTimeout(timer);
        if (!connected) attempt(i + 1);
        else client.destroy();
      });
      upstream.once('connect', () => {
        clearTimeout(timer);
        connected = true;
        this.open.add(upstream);
        upstream.on('close', () => {
          this.open.delete(upstream);
          client.destroy();
        });
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
