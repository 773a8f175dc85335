/**
 * The `metadata` field of a source's event data: Argo's event data structs declare it
 * `json:"metadata,omitempty"`, so it is present only when the event's `metadata` map has entries.
 */
export function metadataField(metadata: Record<string, string> | undefined | null): {
  metadata?: Record<string, string>;
} {
  return metadata && Object.keys(metadata).length > 0 ? { metadata } : {};
}
