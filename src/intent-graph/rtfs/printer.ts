/**
 * Printing RTFS data literals so that the RTFS reader (and the RTFS grammar)
 * reads back exactly the value printed.
 *
 * @module
 */

/**
 * An RTFS string literal for `s`. The RTFS grammar knows the escapes
 * `\" \\ \n \t \r`; every other character (control characters, U+2028,
 * astral characters) stands for itself inside the quotes.
 */
export function printRtfsString(s: string): string {
  let out = '"';
  let chunk = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c === 34) esc = '\\"';
    else if (c === 92) esc = '\\\\';
    else if (c === 10) esc = '\\n';
    else if (c === 13) esc = '\\r';
    else if (c === 9) esc = '\\t';
    if (esc !== undefined) {
      out += s.slice(chunk, i) + esc;
      chunk = i + 1;
    }
  }
  return out + s.slice(chunk) + '"';
}

/** An RTFS integer literal. Throws `RangeError` unless `n` is a safe integer. */
export function printRtfsInteger(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${n} is not a safe integer`);
  return String(Object.is(n, -0) ? 0 : n);
}

/**
 * An RTFS float literal that reads back as exactly `n`: the shortest
 * round-trip digits of `n`, always with a decimal point as the grammar
 * requires (`1` → `1.0`, `1e+21` → `1.0e21`, `-0` → `-0.0`).
 * Throws `RangeError` for NaN and infinities, which RTFS data cannot carry.
 */
export function printRtfsFloat(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`${n} is not a finite number`);
  if (Object.is(n, -0)) return '-0.0';
  const text = String(n);
  const e = text.indexOf('e');
  const mantissa = e < 0 ? text : text.slice(0, e);
  const withPoint = mantissa.includes('.') ? mantissa : `${mantissa}.0`;
  return e < 0 ? withPoint : `${withPoint}e${text.slice(e + 1).replace('+', '')}`;
}
