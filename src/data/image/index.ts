// Images: containers, sharp I/O, resampling.
export * from './types.ts';
export * from './io.ts';
export * from './resample.ts';
export * from './resize.ts';
