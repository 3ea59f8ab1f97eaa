/**
 * Fenced code blocks of a Markdown file, for doc-tests: language, the words after it (`no-run`,
 * `output`), the line it starts on, and the heading it sits under. HTML comments are skipped, so
 * a file can describe its own conventions without those lines counting as blocks.
 */
export interface CodeBlock {
  /** First word of the info string (`ts`, `sh`, `text`...), '' when there is none. */
  readonly lang: string;
  /** The other words of the info string. */
  readonly flags: readonly string[];
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly heading: string;
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  let heading = '';
  let inComment = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (inComment) {
      if (line.includes('-->')) inComment = false;
      continue;
    }
    if (line.trimStart().startsWith('<!--') && !line.includes('-->')) {
      inComment = true;
      continue;
    }
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) {
      heading = h[1]!.trim();
      continue;
    }
    const open = /^(`{3,}|~{3,})\s*(.*)$/.exec(line);
    if (!open) continue;
    const fence = open[1]!;
    const [lang = '', ...flags] = open[2]!.trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !(lines[j]!.startsWith(fence[0]!.repeat(fence.length)) && lines[j]!.trim().replace(/[`~]/g, '') === '')) body.push(lines[j++]!);
    if (j === lines.length) throw new Error(`line ${i + 1}: code block never closed`);
    blocks.push({ lang, flags, code: `${body.join('\n')}\n`, line: i + 1, heading });
    i = j;
  }
  return blocks;
}

/** True when `actual` lines match `expected` ones in order, `…` standing for any text within a line. */
export function matchesOutput(actual: string, expected: string): boolean {
  const lines = (text: string) => text.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
  const want = lines(expected);
  const got = lines(actual);
  if (want.length !== got.length) return false;
  return want.every((w, i) => new RegExp(`^${w.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(got[i]!));
}
