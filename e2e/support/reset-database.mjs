// Gives the e2e server an empty database, so every run starts from the first-run screen.
import { rmSync } from 'node:fs';
import postgres from 'postgres';

const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = new URL(process.env.DATABASE_URL).pathname.slice(1);
if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`refusing to reset database named ${name}`);

const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
await sql.unsafe(`drop database if exists "${name}" with (force)`);
await sql.unsafe(`create database "${name}"`);
await sql.end();
if (process.env.DATA_DIR) rmSync(process.env.DATA_DIR, { recursive: true, force: true });
console.log(`[e2e] fresh database ${name}`);
