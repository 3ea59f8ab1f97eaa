/**
 * Topic router: maps subscription patterns to values (sessions) and answers "who wants topic T".
 * Literal patterns live in an exact Map (the common case: one lookup, no allocation). Wildcard
 * patterns live in a token trie with '*' and '>' edges, walked over the topic string without
 * splitting it. When wildcard patterns exist, a topic's full result (its literal values and every
 * matching wildcard entry) is kept on its exact entry, stamped with the wildcard generation, so the
 * next match of that topic is one Map lookup again (a bounded result cache missed on every match of
 * uniformly spread topics: 1M subscriptions, 1.05x qlobber's time before, ~0.4x with this; bench:
 * matching). Topics with no literal subscriber, and results with many wildcard values, go to a
 * bounded cache. Any wildcard change bumps the generation (docs/architecture.md).
 * A value registered under several matching patterns is returned once.
 */

import { hasWildcard } from './topic.js';

interface Entry<T> {
  readonly values: Set<T>;
  /** Snapshot of `values` handed out by match(); rebuilt lazily after a change. */
  list: T[] | undefined;
}

/** A literal pattern's entry; also holds the topic's full match result while it is current. */
interface ExactEntry<T> extends Entry<T> {
  /** `list` merged with the wildcard entries matching this topic, valid while `stamp` is the router's generation. */
  merged: readonly T[] | undefined;
  stamp: number;
}

class TrieNode<T> {
  /** Literal children, created on first use (most wildcard paths have only a '*' or end). */
  children: Map<string, TrieNode<T>> | undefined;
  star: TrieNode<T> | undefined;
  /**
   * Values whose pattern ends at this node, and those whose pattern is this node's prefix followed
   * by '>'. Held on the node (no entry object to hop through on a walk), undefined when empty.
   */
  here: Set<T> | undefined;
  rest: Set<T> | undefined;
  /** Array snapshots of `here` and `rest` handed out by match(); rebuilt lazily after a change. */
  hereList: readonly T[] | undefined;
  restList: readonly T[] | undefined;
  isEmpty(): boolean {
    return this.here === undefined && this.rest === undefined && this.children === undefined && this.star === undefined;
  }
}

/** The entry's values as an array, kept until the next change: matching iterates arrays, not Sets. */
const listOf = <T>(entry: Entry<T>): readonly T[] => (entry.list ??= [...entry.values]);

/** After a literal change: the entry's array and its kept full result are rebuilt on the next match. */
function forget<T>(entry: ExactEntry<T>): void {
  entry.list = undefined;
  entry.merged = undefined;
  entry.stamp = -1;
}

const EMPTY: readonly never[] = Object.freeze([]);
/** Up to this many candidate values, a match dedups with Array.includes instead of a Set. */
const SMALL_MATCH = 16;
/**
 * A result is kept on its exact entry when it adds at most this many wildcard values to the literal
 * ones: kept results then cost at most the literal subscriptions plus this many slots per literal
 * topic. Larger ones go to the bounded cache, as every result did before.
 */
const MAX_KEPT_WILDCARD = 64;

export interface RouterOptions {
  /**
   * Most results cached for topics without a literal subscriber, or with more wildcard values than
   * an exact entry keeps (default 10,000).
   */
  cacheSize?: number;
}

export class Router<T> {
  private readonly exact = new Map<string, ExactEntry<T>>();
  private readonly root = new TrieNode<T>();
  private wildcardPatterns = 0;
  /** Bumped by every wildcard change: results stamped with an older generation are stale. */
  private generation = 0;
  private readonly cache: ResultCache<T>;
  /** Reused by match(): the wildcard entries found for one topic. */
  private readonly sources: (readonly T[])[] = [];
  private readonly scratch: T[] = [];

  constructor(options: RouterOptions = {}) {
    this.cache = new ResultCache<T>(options.cacheSize ?? 10_000);
  }

  /** Number of distinct wildcard patterns with at least one value. */
  get wildcardCount(): number {
    return this.wildcardPatterns;
  }

  /** Registers `value` under `pattern` (already validated). Returns false when it was there already. */
  add(pattern: string, value: T): boolean {
    if (!hasWildcard(pattern)) {
      let entry = this.exact.get(pattern);
      if (entry === undefined) this.exact.set(pattern, (entry = { values: new Set(), list: undefined, merged: undefined, stamp: -1 }));
      if (entry.values.has(value)) return false;
      entry.values.add(value);
      forget(entry);
      this.cache.delete(pattern);
      return true;
    }
    const tokens = pattern.split('.');
    let node = this.root;
    const last = tokens.length - 1;
    for (let i = 0; i < last; i++) node = child(node, tokens[i]!, true)!;
    const rest = tokens[last] === '>';
    if (!rest) node = child(node, tokens[last]!, true)!;
    const values = rest ? (node.rest ??= new Set()) : (node.here ??= new Set());
    if (values.has(value)) return false;
    if (values.size === 0) this.wildcardPatterns++;
    values.add(value);
    if (rest) node.restList = undefined;
    else node.hereList = undefined;
    this.wildcardChanged();
    return true;
  }

  /** Removes `value` from `pattern`. Returns false when it was not registered there. */
  remove(pattern: string, value: T): boolean {
    if (!hasWildcard(pattern)) {
      const entry = this.exact.get(pattern);
      if (entry === undefined || !entry.values.delete(value)) return false;
      if (entry.values.size === 0) this.exact.delete(pattern);
      else forget(entry);
      this.cache.delete(pattern);
      return true;
    }
    const tokens = pattern.split('.');
    const path: TrieNode<T>[] = [this.root];
    let node: TrieNode<T> | undefined = this.root;
    const last = tokens.length - 1;
    for (let i = 0; i < last && node; i++) {
      node = child(node, tokens[i]!, false);
      if (node) path.push(node);
    }
    if (node === undefined) return false;
    const rest = tokens[last] === '>';
    if (!rest) {
      node = child(node, tokens[last]!, false);
      if (node === undefined) return false;
      path.push(node);
    }
    const values = rest ? node.rest : node.here;
    if (values === undefined || !values.delete(value)) return false;
    if (rest) {
      node.restList = undefined;
      if (values.size === 0) node.rest = undefined;
    } else {
      node.hereList = undefined;
      if (values.size === 0) node.here = undefined;
    }
    if (values.size === 0) this.wildcardPatterns--;
    prune(path, tokens);
    this.wildcardChanged();
    return true;
  }

  /** Number of values registered under exactly this pattern. */
  count(pattern: string): number {
    if (!hasWildcard(pattern)) return this.exact.get(pattern)?.values.size ?? 0;
    const tokens = pattern.split('.');
    let node: TrieNode<T> | undefined = this.root;
    const last = tokens.length - 1;
    for (let i = 0; i < last && node; i++) node = child(node, tokens[i]!, false);
    if (node === undefined) return 0;
    const tail = tokens[last]!;
    return (tail === '>' ? node.rest : child(node, tail, false)?.here)?.size ?? 0;
  }

  /**
   * Values whose patterns match `topic` (a valid publication topic), each once. The array is shared
   * and must not be mutated; it stays valid until the next add/remove.
   */
  match(topic: string): readonly T[] {
    const entry = this.exact.get(topic);
    if (this.wildcardPatterns === 0) return entry === undefined ? EMPTY : listOf(entry);
    if (entry !== undefined && entry.stamp === this.generation) return entry.merged!;
    const cached = this.cache.get(topic);
    if (cached !== undefined) return cached;
    const literal = entry === undefined ? EMPTY : listOf(entry);
    const result = this.walk(topic, literal);
    if (entry !== undefined && result.length - literal.length <= MAX_KEPT_WILDCARD) {
      entry.merged = result;
      entry.stamp = this.generation;
    } else this.cache.set(topic, result);
    return result;
  }

  /** `literal` united with the values of every wildcard entry matching `topic`. */
  private walk(topic: string, literal: readonly T[]): readonly T[] {
    // Every source is an array snapshot. One non-empty source is returned as it is; small unions
    // dedup with includes(), not a Set.
    const sources = this.sources;
    collect(this.root, topic, 0, sources);
    try {
      if (sources.length === 0) return literal;
      if (literal.length === 0 && sources.length === 1) return sources[0]!;
      let size = literal.length;
      for (let s = 0; s < sources.length; s++) size += sources[s]!.length;
      if (size <= SMALL_MATCH) {
        // Deduplicated in a reused scratch array, then copied at its exact size: results are kept
        // per topic, and a pushed-to array carries up to 16 spare slots.
        const out = this.scratch;
        for (let k = 0; k < literal.length; k++) out.push(literal[k]!);
        for (let s = 0; s < sources.length; s++) {
          const source = sources[s]!;
          for (let k = 0; k < source.length; k++) if (!out.includes(source[k]!)) out.push(source[k]!);
        }
        const result = out.slice();
        out.length = 0;
        return result;
      }
      const found = new Set<T>(literal);
      for (let s = 0; s < sources.length; s++) {
        const source = sources[s]!;
        for (let k = 0; k < source.length; k++) found.add(source[k]!);
      }
      return [...found];
    } finally {
      sources.length = 0;
    }
  }

  private wildcardChanged(): void {
    this.generation++;
    this.cache.clear();
  }
}

/**
 * Bounded topic -> match result cache in two generations: when the young one is full it becomes
 * the old one (the previous old one is dropped), and a hit in the old one moves back up. About LRU,
 * O(1) per operation: a V8 Map has no cheap "evict oldest" (keys().next() scans the deleted slots
 * at the front of its table: ~4 µs per miss once full, bench: matching).
 */
class ResultCache<T> {
  private young = new Map<string, readonly T[]>();
  private old = new Map<string, readonly T[]>();
  private readonly generation: number;

  constructor(maxEntries: number) {
    this.generation = Math.max(1, maxEntries >> 1);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(topic: string): readonly T[] | undefined {
    const hit = this.young.get(topic);
    if (hit !== undefined) return hit;
    const aged = this.old.get(topic);
    if (aged !== undefined) this.set(topic, aged);
    return aged;
  }

  set(topic: string, result: readonly T[]): void {
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(topic, result);
  }

  delete(topic: string): void {
    this.young.delete(topic);
    this.old.delete(topic);
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}

function child<T>(node: TrieNode<T>, token: string, create: boolean): TrieNode<T> | undefined {
  if (token === '*') {
    if (node.star === undefined && create) node.star = new TrieNode<T>();
    return node.star;
  }
  let next = node.children?.get(token);
  if (next === undefined && create) (node.children ??= new Map()).set(token, (next = new TrieNode<T>()));
  return next;
}

/** Drops trie nodes left empty by a removal, deepest first, so churn does not leak nodes. */
function prune<T>(path: TrieNode<T>[], tokens: string[]): void {
  for (let i = path.length - 1; i > 0; i--) {
    const node = path[i]!;
    if (!node.isEmpty()) return;
    const parent = path[i - 1]!;
    const token = tokens[i - 1]!;
    if (token === '*') parent.star = undefined;
    else {
      parent.children!.delete(token);
      if (parent.children!.size === 0) parent.children = undefined;
    }
  }
}

/**
 * Pushes the non-empty entries of the patterns matching the topic's tokens from char `start` on
 * (`start` past the end: no token left). Tokens are sliced only where a node has literal children.
 */
function collect<T>(node: TrieNode<T>, topic: string, start: number, out: (readonly T[])[]): void {
  if (start > topic.length) {
    if (node.here !== undefined) out.push((node.hereList ??= [...node.here]));
    return;
  }
  // '>' at this node matches when at least one token remains.
  if (node.rest !== undefined) out.push((node.restList ??= [...node.rest]));
  if (node.children === undefined && node.star === undefined) return;
  let end = topic.indexOf('.', start);
  if (end < 0) end = topic.length;
  if (node.children !== undefined) {
    const next = node.children.get(topic.slice(start, end));
    if (next !== undefined) collect(next, topic, end + 1, out);
  }
  if (node.star !== undefined) collect(node.star, topic, end + 1, out);
}
