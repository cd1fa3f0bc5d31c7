// The session slice of the one reducer: who is logged in, the account being
// switched to, the last login error, and whether the instructor's password
// has to be given again.

import type { Action } from './actions';
import type { Session } from './types';

export interface SessionState {
  /** undefined: not decided yet (users loading / first login); null: anonymous */
  current: Session | null | undefined;
  /** the account a login is under way for (the switcher shows it at once) */
  pendingAccount: number | null;
  loginError: string | null;
  /** the instructor's token was refused: the password has to be given again */
  needPassword: boolean;
}

export const initialSession: SessionState = {
  current: undefined,
  pendingAccount: null,
  loginError: null,
  needPassword: false,
};

export function sessionReducer(s: SessionState, action: Action): SessionState {
  switch (action.type) {
    case 'login-started':
      return { ...s, pendingAccount: action.userId };
    case 'signed-in':
      return { current: action.session, pendingAccount: null, loginError: null, needPassword: false };
    case 'login-failed':
      // a failed first login leaves the screen anonymous; a failed switch keeps the account held
      return { ...s, pendingAccount: null, loginError: action.message, current: s.current === undefined ? null : s.current };
    case 'no-session':
      return { ...s, current: null };
    case 'password-needed':
      return { ...s, needPassword: true };
    default:
      return s;
  }
}
