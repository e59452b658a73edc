// The part of mailsplit's API that message/eight-bit.ts uses (the package has no types).
declare module 'mailsplit' {
  import { Transform } from 'node:stream';

  export interface MimeNode {
    type: 'node';
    root: boolean;
    contentType: string | false;
    encoding: string | false;
    multipart: string | false;
    headers: {
      get(key: string): string[];
      getFirst(key: string): string;
      update(key: string, value: string): void;
      add(key: string, value: string, index?: number): void;
      hasHeader(key: string): boolean;
    };
    getHeaders(): Buffer;
  }

  export type SplitChunk = MimeNode | { type: 'data' | 'body'; value: Buffer; node?: MimeNode };

  export class Splitter extends Transform {
    constructor(options?: { ignoreEmbedded?: boolean; maxHeadSize?: number });
  }
  export class Joiner extends Transform {}
}
