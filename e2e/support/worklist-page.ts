import { expect, type Page } from '@playwright/test';

/** The worklist (/): filters, rows with their workflow controls, saved searches. */
export class WorklistPage {
  constructor(readonly page: Page) {}

  async goto(query = '') {
    await this.page.goto(query ? `/?${query}` : '/');
    await expect(this.page.getByRole('heading', { name: 'Worklist' })).toBeVisible();
  }

  filters() {
    return this.page.getByRole('form', { name: 'Worklist filters' });
  }

  async applyFilters(set: { q?: string; status?: string[]; priority?: string[]; assignee?: string; modality?: string }) {
    const form = this.filters();
    if (set.q !== undefined) await form.getByLabel('Search', { exact: true }).fill(set.q);
    if (set.assignee !== undefined) await form.locator('select[name="assignee"]').selectOption(set.assignee);
    if (set.modality !== undefined) await form.getByLabel('Modality', { exact: true }).fill(set.modality);
    for (const name of ['status', 'priority'] as const) {
      const wanted = set[name];
      if (!wanted) continue;
      const boxes = form.getByRole('group', { name: name === 'status' ? 'Status' : 'Priority' }).getByRole('checkbox');
      for (const box of await boxes.all()) await box.setChecked(wanted.includes((await box.getAttribute('value'))!));
    }
    const before = this.page.url();
    await form.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => this.page.url()).not.toBe(before);
  }

  rows() {
    return this.page.getByTestId('worklist-row');
  }

  row(patientName: string) {
    return this.rows().filter({ hasText: patientName });
  }

  priority(patientName: string) {
    return this.page.getByLabel(`Priority of ${patientName}`);
  }

  assignee(patientName: string) {
    return this.page.getByLabel(`Assignee of ${patientName}`);
  }

  /** Chooses a priority and waits until the server has it. */
  async setPriority(patientName: string, priority: string) {
    await this.priority(patientName).selectOption(priority);
    await expect(this.priority(patientName)).toHaveAttribute('data-saved', priority);
  }

  /** Chooses an assignee by name and waits until the server has them. */
  async setAssignee(patientName: string, name: string) {
    const select = this.assignee(patientName);
    await select.selectOption({ label: name });
    await expect(select).toHaveAttribute('data-saved', (await select.inputValue()) || '');
  }

  async clickAssignToMe(patientName: string) {
    await this.assignToMe(patientName).click();
    await expect(this.assignee(patientName)).toHaveAttribute('data-saved', /^[0-9a-f-]{36}$/);
  }

  assignToMe(patientName: string) {
    return this.page.getByRole('button', { name: `Assign ${patientName} to me` });
  }

  savedSearches() {
    return this.page.getByRole('region', { name: 'Saved searches' });
  }

  async saveSearch(name: string) {
    const form = this.page.getByRole('form', { name: 'Save this search' });
    await form.getByLabel('Save this search as').fill(name);
    await form.getByRole('button', { name: 'Save search' }).click();
    await expect(form.getByRole('status')).toHaveText(`Saved “${name}”`);
  }
}
