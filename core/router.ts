/**
 * Topic router: maps subscription patterns to values (sessions) and answers "who wants topic T".
 * Literal patterns live in an exact Map (the common case: one lookup, no allocation). Wildcard
 * patterns live in a token trie with '*' and '>' edges. When any wildcard pattern exists, results
 * are cached per topic in a bounded Map, dropped on every change that could alter them (docs/architecture.md).
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
  /** Values whose pattern ends at this node (created on first use: most nodes are only a path). */
  here: Entry<T> | undefined;
  /** Values whose pattern is this node's prefix followed by '>'. */
  rest: Entry<T> | undefined;
  isEmpty(): boolean {
    return !this.here?.values.size && !this.rest?.values.size && this.children.size === 0 && this.star === undefined;
  }
}

const newEntry = <T>(): Entry<T> => ({ values: new Set(), list: undefined });
/** The entry's values as an array, kept until the next change: matching iterates arrays, not Sets. */
const listOf = <T>(entry: Entry<T>): readonly T[] => (entry.list ??= [...entry.values]);

const EMPTY: readonly never[] = Object.freeze([]);
/** Up to this many candidate values, a match dedups with Array.includes instead of a Set. */
const SMALL_MATCH = 16;

export interface RouterOptions {
  /** Most topics whose wildcard match results are cached (default 10,000). */
  cacheSize?: number;
}

export class Router<T> {
  private readonly exact = new Map<string, Entry<T>>();
  private readonly root = new TrieNode<T>();
  private wildcardPatterns = 0;
  private readonly cache: ResultCache<T>;
  private readonly cacheSize: number;

  constructor(options: RouterOptions = {}) {
    this.cacheSize = options.cacheSize ?? 10_000;
    this.cache = new ResultCache<T>(this.cacheSize);
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
    let entry: Entry<T>;
    if (tail === '>') entry = (node.rest ??= newEntry());
    else {
      const leaf = child(node, tail, true)!;
      entry = (leaf.here ??= newEntry());
    }
    if (entry.values.has(value)) return false;
    if (entry.values.size === 0) this.wildcardPatterns++;
    entry.values.add(value);
    entry.list = undefined;
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
    let entry: Entry<T> | undefined;
    if (tail === '>') entry = node.rest;
    else {
      const leaf = child(node, tail, false);
      if (leaf) path.push(leaf);
      entry = leaf?.here;
    }
    if (entry === undefined || !entry.values.delete(value)) return false;
    entry.list = undefined;
    if (entry.values.size === 0) this.wildcardPatterns--;
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
    return (tail === '>' ? node.rest : child(node, tail, false)?.here)?.values.size ?? 0;
  }

  /**
   * Values whose patterns match `topic` (a valid publication topic), each once. The array is shared
   * and must not be mutated; it stays valid until the next add/remove.
   */
  match(topic: string): readonly T[] {
    if (this.wildcardPatterns === 0) return this.exactList(topic);
    const cached = this.cache.get(topic);
    if (cached !== undefined) return cached;
    // Every source is an array snapshot (literal subscribers, then each matching wildcard entry).
    // One non-empty source is returned as it is; small unions dedup with includes(), not a Set.
    const literal = this.exactList(topic);
    const sources: (readonly T[])[] = [];
    collect(this.root, topic.split('.'), 0, sources);
    let result: readonly T[];
    if (sources.length === 0) result = literal;
    else if (literal.length === 0 && sources.length === 1) result = sources[0]!;
    else {
      let size = literal.length;
      for (const source of sources) size += source.length;
      if (size <= SMALL_MATCH) {
        const out = literal.slice();
        for (const source of sources) for (let k = 0; k < source.length; k++) if (!out.includes(source[k]!)) out.push(source[k]!);
        result = out;
      } else {
        const found = new Set<T>(literal);
        for (const source of sources) for (let k = 0; k < source.length; k++) found.add(source[k]!);
        result = [...found];
      }
    }
    this.cache.set(topic, result);
    return result;
  }

  private exactList(topic: string): readonly T[] {
    const entry = this.exact.get(topic);
    if (entry === undefined) return EMPTY;
    return listOf(entry);
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

/** Pushes the non-empty value sets of the patterns matching `tokens` from `i` on. */
function collect<T>(node: TrieNode<T>, tokens: string[], i: number, out: (readonly T[])[]): void {
  // '>' at this node matches when at least one token remains.
  if (i < tokens.length && node.rest !== undefined && node.rest.values.size > 0) out.push(listOf(node.rest));
  if (i === tokens.length) {
    if (node.here !== undefined && node.here.values.size > 0) out.push(listOf(node.here));
    return;
  }
  const next = node.children.get(tokens[i]!);
  if (next !== undefined) collect(next, tokens, i + 1, out);
  if (node.star !== undefined) collect(node.star, tokens, i + 1, out);
}
