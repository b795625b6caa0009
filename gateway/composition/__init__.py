"""Product composition records (IPC-1752A, IEC 62474, chemSHERPA-AI, CSV): import, storage, matching."""
