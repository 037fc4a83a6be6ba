"""Background jobs: exports a user starts and later downloads from 我的导出 (docs/operations.md)."""
