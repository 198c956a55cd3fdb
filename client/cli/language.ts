/** The language of the code `custody run` sends: from `--language`, else the file's extension. */
import { extname } from 'node:path';
import { LANGUAGES, type Language } from '../../lambda/core/types.ts';
import { UsageError } from './usage-error.ts';

const EXTENSIONS: Record<string, Language> = {
  '.py': 'python',
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  '.ts': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
};

/** The language a file's extension names, if any. */
export function languageOfFile(file: string): Language | undefined {
  return EXTENSIONS[extname(file).toLowerCase()];
}

/** `--language`: a language name or its short alias (py, js, ts). */
export function parseLanguage(value: string): Language {
  const normal = value.toLowerCase();
  const alias: Record<string, Language> = { py: 'python', js: 'javascript', ts: 'typescript' };
  const language = (LANGUAGES as readonly string[]).includes(normal) ? (normal as Language) : alias[normal];
  if (!language) throw new UsageError(`--language: "${value}" is not one of ${LANGUAGES.join(', ')}`);
  return language;
}
