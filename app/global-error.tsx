'use client';

import { ServiceError } from '@/lib/ui/service-error';
import './globals.css';

// Replaces the root layout when that itself fails, so it brings its own <html> and styles.
export default function GlobalError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <html lang="en">
      <body>
        <ServiceError reset={reset} digest={error.digest} />
      </body>
    </html>
  );
}
