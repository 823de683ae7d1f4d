import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScratchArena } from './scratch';

describe('ScratchArena', () => {
  it('hands the same memory out again after a reset, zeroed, and distinct memory within a task', () => {
    const arena = new ScratchArena();
    const a = new Uint8Array(arena.allocate(1000), 0, 1000);
    const b = new Uint8Array(arena.allocate(1000), 0, 1000);
    expect(a.buffer).not.toBe(b.buffer);
    a.fill(7);
    b.fill(9);
    arena.reset();
    const again = new Uint8Array(arena.allocate(800), 0, 800);
    expect(again.buffer).toBe(a.buffer);
    expect(again.every((v) => v === 0)).toBe(true);
    // Larger than what it had: new memory.
    const bigger = new Uint8Array(arena.allocate(4000), 0, 4000);
    expect(bigger.buffer).not.toBe(b.buffer);
    expect(bigger.every((v) => v === 0)).toBe(true);
  });

  it('reads whole files into reused memory', () => {
    const arena = new ScratchArena();
    const big = path.join(process.env.DATA_DIR!, 'scratch-big.bin');
    const small = path.join(process.env.DATA_DIR!, 'scratch-small.bin');
    writeFileSync(big, Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251)));
    writeFileSync(small, Buffer.from('small file'));
    expect(Buffer.from(arena.readFile(big)).equals(readFileSync(big))).toBe(true);
    arena.reset();
    const bytes = arena.readFile(small);
    expect(bytes.length).toBe(10);
    expect(Buffer.from(bytes).toString()).toBe('small file');
  });
});
