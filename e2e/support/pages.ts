import { expect, type Page } from '@playwright/test';

export const ADMIN = { name: 'Ada Admin', email: 'ada.admin@hospital.test', password: 'first admin passphrase' };
export const CLINICIAN = { name: 'Chris Clinician', email: 'chris.clinician@hospital.test', password: 'clinician passphrase' };

export class SignInPage {
  constructor(readonly page: Page) {}

  async goto(callbackUrl?: string) {
    await this.page.goto(callbackUrl ? `/sign-in?callbackUrl=${encodeURIComponent(callbackUrl)}` : '/sign-in');
  }

  async signIn(email: string, password: string) {
    await this.page.getByLabel('Email').fill(email);
    await this.page.getByLabel('Password').fill(password);
    // Wait for the server action's answer so that consecutive attempts never overlap.
    await Promise.all([
      this.page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/sign-in'),
      this.page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
  }

  async expectError(message: string | RegExp) {
    await expect(this.page.locator('form').getByRole('alert')).toHaveText(message);
  }
}

export class SetupPage {
  constructor(readonly page: Page) {}

  async createAdmin(user: { name: string; email: string; password: string }, confirm = user.password) {
    await this.page.getByLabel('Name').fill(user.name);
    await this.page.getByLabel('Email').fill(user.email);
    await this.page.getByLabel('Password (at least 12 characters)').fill(user.password);
    await this.page.getByLabel('Confirm password').fill(confirm);
    await this.page.getByRole('button', { name: 'Create administrator' }).click();
  }
}

export class AppShell {
  constructor(readonly page: Page) {}

  currentUser() {
    return this.page.getByTestId('current-user');
  }

  async signOut() {
    await this.page.getByRole('button', { name: 'Sign out' }).click();
    await expect(this.page).toHaveURL(/\/sign-in/);
  }
}

export class UsersAdminPage {
  constructor(readonly page: Page) {}

  async goto() {
    await this.page.goto('/admin/users');
  }

  async addUser(user: { name: string; email: string; password: string }, role: string) {
    const form = this.page.getByRole('form', { name: 'Add a user' });
    await form.getByLabel('Name').fill(user.name);
    await form.getByLabel('Email').fill(user.email);
    await form.getByLabel('Initial password').fill(user.password);
    await form.getByLabel('Role').selectOption(role);
    await form.getByRole('button', { name: 'Add user' }).click();
    await expect(form.getByRole('status')).toHaveText(`Created ${user.email}`);
  }

  row(email: string) {
    return this.page.getByTestId(`user-${email}`);
  }
}

/**
 * Signs in as the administrator through the form. Specs run in file order (auth.spec.ts first,
 * which creates the account on the first-run screen); run alone, a spec creates it itself.
 */
export async function signInAsAdmin(page: Page) {
  const signIn = new SignInPage(page);
  await signIn.goto();
  if (new URL(page.url()).pathname === '/setup') {
    await new SetupPage(page).createAdmin(ADMIN);
  } else {
    await signIn.signIn(ADMIN.email, ADMIN.password);
  }
  await expect(page).not.toHaveURL(/\/(sign-in|setup)/);
}

export class UploadPage {
  constructor(readonly page: Page) {}

  async goto() {
    await this.page.goto('/upload');
    await expect(this.page.getByRole('heading', { name: 'Upload images' })).toBeVisible();
  }

  async chooseFiles(files: string[]) {
    await this.page.getByLabel('Choose files').setInputFiles(files);
  }

  async chooseFolder(dir: string) {
    await this.page.getByLabel('Choose a folder').setInputFiles(dir);
  }

  row(name: string | RegExp) {
    return this.page.getByTestId('upload-row').filter({ hasText: name });
  }

  overall() {
    return this.page.getByTestId('overall-status');
  }
}
