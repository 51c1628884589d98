import type { AdminTokenStore, ApiKeyStore, AuditStore, ConfigStore, SetValidator } from '@tollgate/stores';

/** What route files need from the outside world. */
export interface AdminContext {
  config: ConfigStore;
  /** Checks the complete resulting resource set (usually: it compiles). */
  validate: SetValidator;
  apiKeys: ApiKeyStore;
  tokens: AdminTokenStore;
  audit: AuditStore;
  /** Most documents one request may carry (see AdminOptions.maxDocuments). */
  maxDocuments: number;
}
