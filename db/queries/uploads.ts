import { eq } from 'drizzle-orm';
import type { Executor } from '../index';
import { uploads, type Upload } from '../schema';

export async function insertUpload(db: Executor, upload: typeof uploads.$inferInsert): Promise<Upload> {
  const [row] = await db.insert(uploads).values(upload).returning();
  if (!row) throw new Error('upload insert returned no row');
  return row;
}

export async function findUpload(db: Executor, id: string): Promise<Upload | undefined> {
  const [row] = await db.select().from(uploads).where(eq(uploads.id, id)).limit(1);
  return row;
}

export async function updateUpload(
  db: Executor,
  id: string,
  changes: Partial<Omit<typeof uploads.$inferInsert, 'id' | 'createdAt'>>,
): Promise<void> {
  await db.update(uploads).set(changes).where(eq(uploads.id, id));
}
