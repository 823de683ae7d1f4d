import { USER_ROLES, type UserRole } from '@/db/schema';

export { USER_ROLES, type UserRole };

export const ROLE_LABELS: Record<UserRole, string> = {
  admin: 'Administrator',
  radiologist: 'Radiologist',
  clinician: 'Clinician',
  viewer: 'Viewer',
};

export function isRole(value: unknown): value is UserRole {
  return typeof value === 'string' && (USER_ROLES as readonly string[]).includes(value);
}

export function hasRole(role: UserRole, allowed: readonly UserRole[]): boolean {
  return allowed.includes(role);
}
