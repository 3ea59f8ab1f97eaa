/**
 * Topic router: maps subscription patterns to values (sessions) and answers "who wants topic T".
 * Literal patterns live in an exact Map (the common case: one lookup, no allocation). Wildcard
 * patterns live in a token trie with '*' and '>' edges. When any wildcard pattern exists, results
 * are cached per topic in a bounded Map, dropped on every change that could alter them (DESIGN.md §7).
 * A value registered under several matching patterns is returned once.
 */

interface Entry<T> {
  readonly values: Set<T>;
  /** Snapshot of `values` handed out by match(); rebuilt lazily after a change. */
  list: T[] | undefined;
}

class TrieNode<T> {
  readonly children = new Map<string, TrieNode<T>>();
  star: TrieNode<T> | undefined;
  /** Values whose pattern ends at this node. */
  readonly here = new Set<T>();
  /** Values whose pattern is this node's prefix followed by '>'. */
  readonly rest = new Set<T>();
  isEmpty(): boolean {
    return this.here.size === 0 && this.rest.size === 0 && this.children.size === 0 && this.star === undefined;
  }
}

const EMPTY: readonly never[] = Object.freeze([]);

export interface RouterOptions {
  /** Most topics whose wildcard match results are cached (default 10,000). */
  cacheSize?: number;
}

export class Router<T> {
  private readonly exact = new Map<string, Entry<T>>();
  private readonly root = new TrieNode<T>();
  private wildcardPatterns = 0;
  private readonly cache = new Map<string, readonly T[]>();
  private readonly cacheSize: number;

  constructor(options: RouterOptions = {}) {
    this.cacheSize = options.cacheSize ?? 10_000;
  }

  /** Number of distinct wildcard patterns with at least one value. */
  get wildcardCount(): number {
    return this.wildcardPatterns;
  }

  /** Registers `value` under `pattern` (already validated). Returns false when it was there already. */
  add(pattern: string, value: T): boolean {
    if (!isWildcard(pattern)) {
      let entry = this.exact.get(pattern);
      if (entry === undefined) this.exact.set(pattern, (entry = { values: new Set(), list: undefined }));
      if (entry.values.has(value)) return false;
      entry.values.add(value);
      entry.list = undefined;
      this.cache.delete(pattern);
      return true;
    }
    const tokens = pattern.split('.');
    let node = this.root;
    const last = tokens.length - 1;
    for (let i = 0; i < last; i++) node = child(node, tokens[i]!, true)!;
    const tail = tokens[last]!;
    let set: Set<T>;
    if (tail === '>') set = node.rest;
    else set = child(node, tail, true)!.here;
    if (set.has(value)) return false;
    if (set.size === 0) this.wildcardPatterns++;
    set.add(value);
    this.cache.clear();
    return true;
  }

  /** Removes `value` from `pattern`. Returns false when it was not registered there. */
  remove(pattern: string, value: T): boolean {
    if (!isWildcard(pattern)) {
      const entry = this.exact.get(pattern);
      if (entry === undefined || !entry.values.delete(value)) return false;
      if (entry.values.size === 0) this.exact.delete(pattern);
      else entry.list = undefined;
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
    const tail = tokens[last]!;
    let set: Set<T> | undefined;
    if (tail === '>') set = node.rest;
    else {
      const leaf = child(node, tail, false);
      if (leaf) path.push(leaf);
      set = leaf?.here;
    }
    if (set === undefined || !set.delete(value)) return false;
    if (set.size === 0) this.wildcardPatterns--;
    prune(path, tokens);
    this.cache.clear();
    return true;
  }

  /** Number of values registered under exactly this pattern. */
  count(pattern: string): number {
    if (!isWildcard(pattern)) return this.exact.get(pattern)?.values.size ?? 0;
    const tokens = pattern.split('.');
    let node: TrieNode<T> | undefined = this.root;
    const last = tokens.length - 1;
    for (let i = 0; i < last && node; i++) node = child(node, tokens[i]!, false);
    if (node === undefined) return 0;
    const tail = tokens[last]!;
    return tail === '>' ? node.rest.size : (child(node, tail, false)?.here.size ?? 0);
  }

  /**
   * Values whose patterns match `topic` (a valid publication topic), each once. The array is shared
   * and must not be mutated; it stays valid until the next add/remove.
   */
  match(topic: string): readonly T[] {
    if (this.wildcardPatterns === 0) return this.exactList(topic);
    const cached = this.cache.get(topic);
    if (cached !== undefined) return cached;
    const found = new Set<T>(this.exact.get(topic)?.values);
    collect(this.root, topic.split('.'), 0, found);
    const result: readonly T[] = found.size === 0 ? EMPTY : [...found];
    // Full: start over. Evicting the oldest with cache.keys().next() scans the deleted slots V8's
    // ordered hash table keeps at its front: ~4 µs per match once full (bench: matching).
    if (this.cache.size >= this.cacheSize) this.cache.clear();
    this.cache.set(topic, result);
    return result;
  }

  private exactList(topic: string): readonly T[] {
    const entry = this.exact.get(topic);
    if (entry === undefined) return EMPTY;
    return (entry.list ??= [...entry.values]);
  }
}

function isWildcard(pattern: string): boolean {
  // '*' and '>' only ever appear as whole tokens in a valid pattern, so a char scan is enough.
  return pattern.includes('*') || pattern.includes('>');
}

function child<T>(node: TrieNode<T>, token: string, create: boolean): TrieNode<T> | undefined {
  if (token === '*') {
    if (node.star === undefined && create) node.star = new TrieNode<T>();
    return node.star;
  }
  let next = node.children.get(token);
  if (next === undefined && create) node.children.set(token, (next = new TrieNode<T>()));
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
    else parent.children.delete(token);
  }
}

function collect<T>(node: TrieNode<T>, tokens: string[], i: number, out: Set<T>): void {
  // '>' at this node matches when at least one token remains.
  if (i < tokens.length) for (const v of node.rest) out.add(v);
  if (i === tokens.length) {
    for (const v of node.here) out.add(v);
    return;
  }
  const next = node.children.get(tokens[i]!);
  if (next !== undefined) collect(next, tokens, i + 1, out);
  if (node.star !== undefined) collect(node.star, tokens, i + 1, out);
}
