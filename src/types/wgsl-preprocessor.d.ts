declare module 'wgsl-preprocessor/wgsl-preprocessor.js' {
  /** Tagged template: `#if ${cond}` / `#elif` / `#else` / `#endif` on their own lines. */
  export function wgsl(strings: TemplateStringsArray, ...values: unknown[]): string;
}
