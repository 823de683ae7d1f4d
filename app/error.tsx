'use client';

import { ServiceError } from '@/lib/ui/service-error';

export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return <ServiceError reset={reset} digest={error.digest} />;
}
