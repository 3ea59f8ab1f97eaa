/**
 * The NATS subject spaces of one Herald cluster, all under a prefix (default `herald`). Topic
 * grammar is NATS subject grammar (docs/protocol.md), so a topic or pattern is appended as is.
 *
 * - `<prefix>.t.<topic>`   live publications, core NATS, one subscription per local pattern.
 * - `<prefix>.h.<topic>`   stored publications of topics with history: only the JetStream stream
 *                          listens here, so topics without history never land in the stream and
 *                          no node ever receives stored traffic it did not ask for.
 * - `<prefix>._p.*`        presence events, heartbeats and snapshot requests between nodes. `_p`
 *                          is not a subject token a topic can collide with because topics live
 *                          one level deeper, under `t.` and `h.`.
 * - `<prefix>._c`          control commands (disconnect, unsubscribe, subscribe, topics, info)
 *                          sent to every node, answered on the request's reply inbox.
 */
export class Subjects {
  readonly prefix: string;
  /** JetStream stream holding the history of every topic of this cluster. */
  readonly stream: string;

  /** `prefix` is one subject token, as resolveNatsOptions (options.ts) checks. */
  constructor(prefix: string, stream?: string) {
    this.prefix = prefix;
    this.stream = stream ?? `${prefix}_history`;
  }

  /** Where live copies of publications on `topicOrPattern` travel. */
  live(topicOrPattern: string): string {
    return `${this.prefix}.t.${topicOrPattern}`;
  }

  /** Topic of a live subject (the inverse of live()). */
  topicOfLive(subject: string): string {
    return subject.slice(this.prefix.length + 3);
  }

  /** Where stored copies go: the subject the JetStream stream captures. */
  stored(topic: string): string {
    return `${this.prefix}.h.${topic}`;
  }

  /** Every stored subject: the stream's subject filter. */
  get storedAll(): string {
    return `${this.prefix}.h.>`;
  }

  /** Presence events, heartbeats and goodbyes, one ordered channel for every node. */
  get presenceEvents(): string {
    return `${this.prefix}._p.ev`;
  }

  /** Control commands to every node (core/control.ts). */
  get control(): string {
    return `${this.prefix}._c`;
  }

  /** A newcomer asks every node for its presence snapshot here. */
  get presenceHello(): string {
    return `${this.prefix}._p.hello`;
  }

  /** One node's presence snapshot, on request. */
  presenceSnapshot(nodeId: string): string {
    return `${this.prefix}._p.snap.${nodeId}`;
  }
}
