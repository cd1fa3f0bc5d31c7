// The session keeper: the token every request carries, the login steps (one
// answer counts: the last login asked for), and renewing a token the server
// refuses. A reset may revoke every trader's token (the instructor's choice):
// a demo trader (or bot) has no password, so its screen simply logs in again;
// the instructor's token is kept by a reset, so when it is refused all the
// same (it expired) the password is asked for again.
// Plain TypeScript (no React): the session hook owns one keeper, the Api reads
// the token from it, and the reducer hears every step as an action.

import type { SessionAction } from './actions';
import { Api, type Auth, type Credentials } from './api';
import { storeAccount, storeInstructorSession } from './storage';
import type { Session, User } from './types';

/** A trader's screen logs in again by itself at most this often. */
export const RELOGIN_GAP_MS = 10_000;
/** A token refused this soon after a fresh login is not fixed by logging in again. */
export const FRESH_TOKEN_MS = 3000;

export class SessionKeeper implements Auth {
  readonly api: Api;
  private held: Credentials | null = null;
  private loginSeq = 0;
  private renewing: Promise<boolean> | null = null;
  private lastRenew = 0;
  private lastRelogin = 0;

  constructor(
    private readonly dispatch: (action: SessionAction) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.api = new Api(this);
  }

  credentials(): Credentials | null {
    return this.held;
  }

  get isInstructor(): boolean {
    return this.held?.role === 'instructor';
  }

  /** Holds `s`'s token from now on (and remembers the choice). */
  adopt(s: Session): void {
    this.held = { token: s.token, userId: s.user.id, role: s.user.role };
    storeAccount(s.user.id);
    storeInstructorSession(s.user.role === 'instructor' ? s : null);
    this.dispatch({ type: 'signed-in', session: s });
  }

  /** Logs in as `userId` (the instructor needs `password`); a later login overrides this one. */
  async login(userId: number, password?: string): Promise<void> {
    const seq = ++this.loginSeq;
    this.dispatch({ type: 'login-started', userId });
    try {
      const s = await this.api.login(userId, password);
      if (seq === this.loginSeq) this.adopt(s);
    } catch (exc) {
      if (seq === this.loginSeq) {
        this.dispatch({ type: 'login-failed', message: exc instanceof Error ? exc.message : 'login failed' });
      }
    }
  }

  /** Auth: a request sent with `sent` got 401. True when a new token for the same user is in place. */
  renew(sent: string): Promise<boolean> {
    const held = this.held;
    if (held?.token !== sent) return Promise.resolve(held !== null); // already renewed meanwhile
    if (held.role === 'instructor') {
      this.signInAgain();
      return Promise.resolve(false);
    }
    if (this.renewing) return this.renewing;
    if (this.now() - this.lastRenew < FRESH_TOKEN_MS) return Promise.resolve(false);
    return this.renewLogin();
  }

  /**
   * The server refused this token outside a request (a refused socket, a 401
   * on a load): a trader logs in again, at most every RELOGIN_GAP_MS; the
   * instructor is asked for the password.
   */
  signInAgain(): void {
    const held = this.held;
    if (!held) return;
    if (held.role === 'instructor') {
      storeInstructorSession(null);
      this.dispatch({ type: 'password-needed' });
      return;
    }
    const now = this.now();
    if (now - this.lastRelogin < RELOGIN_GAP_MS) return;
    this.lastRelogin = now;
    void this.renewLogin();
  }

  /** A reset started a new epoch: a trader logs in again at once; the instructor keeps the token. */
  afterReset(): void {
    this.lastRelogin = 0;
    if (!this.isInstructor) this.signInAgain();
  }

  /** Logs the token's own user in again (one login at a time): true when it worked. */
  private renewLogin(): Promise<boolean> {
    if (this.renewing) return this.renewing;
    const held = this.held;
    if (!held || held.role === 'instructor') return Promise.resolve(false);
    this.lastRenew = this.now();
    const attempt = this.login(held.userId).then(
      () => this.held?.userId === held.userId && this.held.token !== held.token,
    );
    this.renewing = attempt;
    void attempt.finally(() => {
      if (this.renewing === attempt) this.renewing = null;
    });
    return attempt;
  }
}

/** Whom the screen logs in as on arrival. */
export type FirstAccount = { adopt: Session } | { login: number } | null;

/**
 * The instructor's session kept for this tab when it is the account last
 * chosen (and still the instructor), else the remembered trader, else the
 * first trader; null when there is no trader at all.
 */
export function firstAccount(users: User[], remembered: number, kept: Session | null): FirstAccount {
  if (kept && kept.user.id === remembered && users.some((u) => u.id === kept.user.id && u.role === 'instructor')) {
    return { adopt: kept };
  }
  const traders = users.filter((u) => u.role === 'trader');
  const pick = traders.find((u) => u.id === remembered) ?? traders[0];
  return pick ? { login: pick.id } : null;
}
