/**
 * A raw text/event-stream reader over node:http for tests that need control an EventSource does not
 * give (its own Last-Event-ID, pausing the socket, counting comments). Parses as WHATWG HTML §9.2.
 */
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

export interface SseEvent {
  event: string;
  data: string;
  /** The last event id after this event (as EventSource#lastEventId would show). */
  lastEventId: string;
}

export class SseReader {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly events: SseEvent[] = [];
  /** Comment lines seen (heartbeats). */
  comments = 0;
  retry: number | undefined;
  /** The whole body when the answer is not a stream. */
  body = '';
  readonly res: IncomingMessage;
  private buffer = '';
  private lastEventId = '';
  private data: string[] = [];
  private event = '';
  private ended: Promise<void>;

  private constructor(res: IncomingMessage) {
    this.res = res;
    this.status = res.statusCode ?? 0;
    this.headers = res.headers;
    res.setEncoding('utf8');
    const stream = this.status === 200 && String(res.headers['content-type']).startsWith('text/event-stream');
    res.on('data', (text: string) => (stream ? this.feed(text) : (this.body += text)));
    this.ended = new Promise((resolve) => { res.once('close', resolve); res.once('end', resolve); res.once('error', () => resolve()); });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => resolve(new SseReader(res)));
      req.once('error', reject);
      req.end();
    });
  }

  private feed(text: string): void {
    this.buffer += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      // A lone CR at the end may be the first half of CRLF: wait for more.
      if (m === null || (m[0] === '\r' && m.index === this.buffer.length - 1)) return;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.events.push({ event: this.event || 'message', data: this.data.join('\n'), lastEventId: this.lastEventId });
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) { this.comments++; return; }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }

  /** Default-type events, parsed. */
  messages(topic?: string): Record<string, any>[] {
    return this.events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data)).filter((m) => topic === undefined || m.topic === topic);
  }

  named(event: string): SseEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  async waitFor(test: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  waitEnd(timeoutMs = 5000): Promise<void> {
    return Promise.race([this.ended, new Promise<void>((_, reject) => setTimeout(() => reject(new Error('stream did not end')), timeoutMs).unref())]);
  }

  /** The last event id seen so far. */
  get id(): string {
    return this.lastEventId;
  }

  close(): void {
    this.res.destroy();
  }
}
