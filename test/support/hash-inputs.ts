/** Inputs every hash path is checked on, in Node and in the browser: empty, odd sizes, block edges, megabytes. */
export function hashInputs(): [string, Uint8Array][] {
  const pattern = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >>> 8)) & 0xff;
    return b;
  };
  return [
    ['empty input', new Uint8Array(0)],
    ['1 byte', pattern(1)],
    ['55 bytes (one padded block)', pattern(55)],
    ['64 bytes (one block)', pattern(64)],
    ['255 bytes (below the WebCrypto threshold)', pattern(255)],
    ['256 bytes (the WebCrypto threshold)', pattern(256)],
    ['1 KiB', pattern(1024)],
    ['64 KiB', pattern(64 * 1024)],
    ['3 MiB + 7', pattern(3 * 1024 * 1024 + 7)],
  ];
}
