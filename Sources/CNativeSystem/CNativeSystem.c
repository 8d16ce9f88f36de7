/* Header-only: see include/CNativeSystem.h. */
