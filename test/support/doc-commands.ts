/**
 * The shell commands a Markdown document shows in its ```sh blocks, split into argument lists
 * the way a POSIX shell would split these simple lines: quotes, `$VAR`, `$(…)` (its command is
 * listed too), `&&`, `||`, `;`, `|`, `>` redirections, `\` continuations and `#` comments.
 * Anything the docs should not contain, such as a `<placeholder>` a shell would read as a
 * redirection, throws.
 */

/** A section of a Markdown document: from its heading to the next heading of the same or a higher level. */
export function markdownSection(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.replace(/^#+\s*/, '') === heading && /^#+\s/.test(line));
  if (start < 0) throw new Error(`no section "${heading}"`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  const end = lines.findIndex((line, i) => i > start && /^#+\s/.test(line) && /^#+/.exec(line)![0].length <= level);
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** The bodies of the fenced blocks of one language. */
export function fencedBlocks(markdown: string, language: string): string[] {
  const blocks: string[] = [];
  const fence = new RegExp(`^\`\`\`${language}\\s*\\n([\\s\\S]*?)^\`\`\`\\s*$`, 'gm');
  for (const match of markdown.matchAll(fence)) blocks.push(match[1]!);
  return blocks;
}

/** Every command of the ```sh blocks; `vars` replaces `$NAME` (unknown names become `x-name`). */
export function shellCommands(markdown: string, vars: Readonly<Record<string, string>>): string[][] {
  const commands: string[][] = [];
  for (const block of fencedBlocks(markdown, 'sh')) {
    for (const line of block.replace(/\\\n\s*/g, ' ').split('\n')) {
      if (line.trim() === '') continue;
      commands.push(...parseLine(line, vars));
    }
  }
  return commands.filter((c) => c.length > 0);
}

function parseLine(line: string, vars: Readonly<Record<string, string>>): string[][] {
  const commands: string[][] = [[]];
  const substituted: string[][] = [];
  let word: string | undefined;
  let redirect = false;
  const endWord = () => {
    if (word === undefined) return;
    if (redirect) redirect = false; // the file name of a redirection is not an argument
    else commands.at(-1)!.push(word);
    word = undefined;
  };
  const variable = (text: string, at: number): [string, number] => {
    const match = /^\$(?:\{(\w+)\}|(\w+))/.exec(text.slice(at));
    if (!match) return ['$', at + 1];
    const name = match[1] ?? match[2]!;
    return [vars[name] ?? `x-${name.toLowerCase()}`, at + match[0].length];
  };
  for (let i = 0; i < line.length; ) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      endWord();
      i++;
    } else if (c === '#' && word === undefined) {
      break;
    } else if (c === "'") {
      const close = line.indexOf("'", i + 1);
      if (close < 0) throw new Error(`unclosed ' in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      let j = i + 1;
      word ??= '';
      while (j < line.length && line[j] !== '"') {
        if (line[j] === '$') {
          const [value, next] = variable(line, j);
          word += value;
          j = next;
        } else word += line[j++];
      }
      if (j >= line.length) throw new Error(`unclosed " in: ${line}`);
      i = j + 1;
    } else if (c === '$' && line[i + 1] === '(') {
      const close = matchingParen(line, i + 1);
      substituted.push(...parseLine(line.slice(i + 2, close), vars));
      word = (word ?? '') + 'x-output';
      i = close + 1;
    } else if (c === '$') {
      const [value, next] = variable(line, i);
      word = (word ?? '') + value;
      i = next;
    } else if (c === '&' || c === '|' || c === ';') {
      endWord();
      commands.push([]);
      i += line[i + 1] === c ? 2 : 1;
    } else if (c === '>') {
      endWord();
      redirect = true;
      i += line[i + 1] === '>' ? 2 : 1;
    } else if (c === '<') {
      throw new Error(`"<" in a shell command (a placeholder the shell would read as a redirection?): ${line}`);
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  endWord();
  return [...commands, ...substituted].filter((c) => c.length > 0);
}

function matchingParen(line: string, open: number): number {
  let depth = 0;
  for (let i = open; i < line.length; i++) {
    if (line[i] === '(') depth++;
    else if (line[i] === ')' && --depth === 0) return i;
  }
  throw new Error(`unclosed $( in: ${line}`);
}
