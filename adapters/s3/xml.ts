/**
 * Just enough XML for S3: the ListObjectsV2 result, the `<Error>` document, and
 * the DeleteObjects request body and result.
 *
 * A small, strict tokenizer instead of an XML library: elements, text, the five
 * predefined entities and numeric character references, CDATA, comments and the
 * `<?xml?>` declaration. A DOCTYPE is refused (no entity expansion, no external
 * fetches). Anything malformed throws, so a broken or hostile response can never
 * be read as a short listing.
 *
 * @module
 */

/** Thrown for a document this parser refuses; the adapter wraps it in `BackendError`. */
export class S3XmlError extends Error {}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes entity and character references in XML text. */
export function decodeXmlText(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&([^;&\s]{1,10});|&/g, (match, ref: string | undefined) => {
    if (ref === undefined) throw new S3XmlError("a bare '&' in XML text");
    if (ref[0] === '#') {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      const digits = ref[1] === 'x' ? /^#x[0-9a-fA-F]+$/ : /^#[0-9]+$/;
      if (!digits.test(ref) || !(code > 0 && code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) {
        throw new S3XmlError(`invalid character reference ${match}`);
      }
      return String.fromCodePoint(code);
    }
    const named = PREDEFINED[ref];
    if (named === undefined) throw new S3XmlError(`unknown entity ${match}`);
    return named;
  });
}

/**
 * Walks the document and calls `onText(path, text)` once per element that
 * contains only text (or nothing), `path` being the element names from the root
 * joined by `/`, e.g. `ListBucketResult/Contents/Key`. `onOpen(path)`, when
 * given, is called at every start tag (so repeated groups such as
 * `DeleteResult/Error` can be told apart). Returns the root name.
 */
export function walkXml(xml: string, onText: (path: string, text: string) => void, onOpen?: (path: string) => void): string {
  const stack: string[] = [];
  let root = '';
  let text = '';
  let hadChild = false;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    if (lt === -1) {
      if (xml.slice(i).trim() !== '' && stack.length === 0) throw new S3XmlError('text after the root element');
      text += xml.slice(i);
      break;
    }
    if (lt > i) {
      const chunk = xml.slice(i, lt);
      if (stack.length === 0) {
        if (chunk.trim() !== '') throw new S3XmlError('text outside the root element');
      } else text += decodeXmlText(chunk);
    }
    if (xml.startsWith('<?', lt)) {
      i = after(xml, '?>', lt);
    } else if (xml.startsWith('<!--', lt)) {
      i = after(xml, '-->', lt);
    } else if (xml.startsWith('<![CDATA[', lt)) {
      const end = xml.indexOf(']]>', lt);
      if (end === -1 || stack.length === 0) throw new S3XmlError('unterminated or misplaced CDATA');
      text += xml.slice(lt + 9, end);
      i = end + 3;
    } else if (xml.startsWith('<!', lt)) {
      throw new S3XmlError('DOCTYPE and other declarations are refused');
    } else if (xml[lt + 1] === '/') {
      const gt = xml.indexOf('>', lt);
      if (gt === -1) throw new S3XmlError('unterminated end tag');
      const name = xml.slice(lt + 2, gt).trim();
      const open = stack.pop();
      if (open !== name) throw new S3XmlError(`</${name}> does not close <${open ?? ''}>`);
      if (!hadChild) onText([...stack, name].join('/'), text);
      text = '';
      hadChild = true;
      i = gt + 1;
    } else {
      const gt = xml.indexOf('>', lt);
      if (gt === -1) throw new S3XmlError('unterminated start tag');
      const selfClosing = xml[gt - 1] === '/';
      const inner = xml.slice(lt + 1, selfClosing ? gt - 1 : gt);
      const name = /^[A-Za-z_][\w.-]*/.exec(inner)?.[0];
      if (!name) throw new S3XmlError(`malformed tag <${inner.slice(0, 20)}>`);
      if (stack.length === 0) {
        if (root !== '') throw new S3XmlError('more than one root element');
        root = name;
      }
      onOpen?.([...stack, name].join('/'));
      if (selfClosing) {
        onText([...stack, name].join('/'), '');
        hadChild = true;
      } else {
        stack.push(name);
        text = '';
        hadChild = false;
      }
      i = gt + 1;
    }
  }
  if (stack.length > 0) throw new S3XmlError(`<${stack[stack.length - 1]}> is never closed`);
  if (root === '') throw new S3XmlError('no root element');
  return root;
}

function after(xml: string, terminator: string, from: number): number {
  const end = xml.indexOf(terminator, from);
  if (end === -1) throw new S3XmlError(`unterminated ${xml.slice(from, from + 4)}`);
  return end + terminator.length;
}

/** One page of a ListObjectsV2 answer. */
export interface ListPage {
  keys: string[];
  isTruncated: boolean;
  nextContinuationToken: string | undefined;
}

/** Parses a ListObjectsV2 (`ListBucketResult`) document. */
export function parseListObjectsV2(xml: string): ListPage {
  const page: ListPage = { keys: [], isTruncated: false, nextContinuationToken: undefined };
  let truncated: string | undefined;
  const root = walkXml(xml, (path, text) => {
    if (path === 'ListBucketResult/Contents/Key') page.keys.push(text);
    else if (path === 'ListBucketResult/IsTruncated') truncated = text.trim();
    else if (path === 'ListBucketResult/NextContinuationToken') page.nextContinuationToken = text;
  });
  if (root !== 'ListBucketResult') throw new S3XmlError(`expected <ListBucketResult>, got <${root}>`);
  if (truncated !== 'true' && truncated !== 'false') throw new S3XmlError('<IsTruncated> is missing or not true/false');
  page.isTruncated = truncated === 'true';
  if (page.isTruncated && !page.nextContinuationToken) throw new S3XmlError('a truncated listing without <NextContinuationToken>');
  return page;
}

/** The `Code` and `Message` of an S3 `<Error>` document; undefined when the body is not one. */
export function parseS3Error(xml: string): { code: string; message: string } | undefined {
  if (!xml.includes('<Error')) return undefined;
  let code = '';
  let message = '';
  try {
    const root = walkXml(xml, (path, text) => {
      if (path === 'Error/Code') code = text.trim();
      else if (path === 'Error/Message') message = text.trim();
    });
    return root === 'Error' && code !== '' ? { code, message } : undefined;
  } catch {
    return undefined;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes `text` for the content of an XML element. */
export function escapeXmlText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/**
 * The body of a DeleteObjects request for `keys` (full object keys, at most
 * 1000), in quiet mode: the answer lists only the keys that failed.
 */
export function deleteObjectsBody(keys: readonly string[]): string {
  let xml = '<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>';
  for (const key of keys) xml += `<Object><Key>${escapeXmlText(key)}</Key></Object>`;
  return xml + '</Delete>';
}

/** One key a DeleteObjects request could not remove. */
export interface DeleteFailure {
  key: string;
  code: string;
  message: string;
}

/**
 * Parses a DeleteObjects answer (`DeleteResult`) and returns its `<Error>`
 * entries, in document order; `<Deleted>` entries (sent when the server ignores
 * quiet mode) are skipped. Throws `S3XmlError` for any other document.
 */
export function parseDeleteResult(xml: string): DeleteFailure[] {
  const failures: DeleteFailure[] = [];
  const root = walkXml(
    xml,
    (path, text) => {
      const current = failures[failures.length - 1];
      if (!current || !path.startsWith('DeleteResult/Error/')) return;
      const field = path.slice('DeleteResult/Error/'.length);
      if (field === 'Key') current.key = text;
      else if (field === 'Code') current.code = text.trim();
      else if (field === 'Message') current.message = text.trim();
    },
    (path) => {
      if (path === 'DeleteResult/Error') failures.push({ key: '', code: '', message: '' });
    },
  );
  if (root !== 'DeleteResult') throw new S3XmlError(`expected <DeleteResult>, got <${root}>`);
  for (const f of failures) if (f.key === '' || f.code === '') throw new S3XmlError('an <Error> entry without <Key> or <Code>');
  return failures;
}
