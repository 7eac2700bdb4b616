-- loopwise for Neovim 0.11+: with this folder on the runtimepath (or this file copied to
-- ~/.config/nvim/lsp/loopwise.lua), `vim.lsp.enable('loopwise')` is the whole setup.
-- `loopwise` must be on PATH: `cargo install --path .` in a loopwise checkout.
--
-- Override any field with `vim.lsp.config('loopwise', { ... })` before `vim.lsp.enable`; the
-- tables are merged, so only the changed fields need to be named.

---@type vim.lsp.Config
return {
  cmd = { 'loopwise', 'server' },
  filetypes = { 'python' },
  -- The project root, for the index of its modules (a coroutine imported from another module
  -- of the project). Configuration is found per file, the nearest file winning, whatever the
  -- root.
  root_markers = {
    'pyproject.toml',
    'loopwise.toml',
    '.loopwise.toml',
    'setup.py',
    'setup.cfg',
    '.git',
  },
  -- Sent as initializationOptions: the keys of [tool.loopwise] (see the README's
  -- Configuration), applied on top of the project's configuration file. Leave a key out to
  -- keep the project's value. For example:
  --   init_options = {
  --     ['target-version'] = '3.12',
  --     ['extend-select'] = { 'LW701' },
  --     ignore = { 'LW106' },
  --     ['per-file-ignores'] = { ['tests/*.py'] = { 'LW101' } },
  --     ['default-timeout'] = 10,
  --     severity = { LW104 = 'error' },
  --   },
  init_options = vim.empty_dict(),
}
