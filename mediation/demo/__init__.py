"""Demo and benchmark data: ``manage.py seed_demo`` and ``manage.py generate_cases``.

* ``fake``  — realistic Chinese names, resident ID numbers (GB 11643), unified social
  credit codes (GB 32100), employers, claims; pure Python, seeded ``random.Random``.
* ``seed``  — the demo district, its users and ~30 cases driven through the real services.
* ``bulk``  — the fast bulk generator for benchmarks (``bulk_create`` in batches).

Nothing here is imported by the application itself.
"""
