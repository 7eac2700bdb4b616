-- loopwise for Neovim 0.11+: with this folder on the runtimepath (or this file copied to
-- ~/.config/nvim/lsp/loopwise.lua), `vim.lsp.enable('loopwise')` is the whole setup.
-- `loopwise` must be on PATH: `cargo install --path . --locked` or `pip install .` in a
-- loopwise checkout; without it this file says so (a warning through `vim.notify`).
--
-- Override any field with `vim.lsp.config('loopwise', { ... })` before `vim.lsp.enable`; the
-- tables are merged, so only the changed fields need to be named.

-- Neovim skips a server whose command is not executable without a word, so a missing binary
-- would look like a file without findings. The check waits for the end of the current event, so
-- that it sees the merged configuration (a `cmd` set with `vim.lsp.config` counts), and runs once
-- a session: Neovim reads this file again each time it resolves the configuration.
vim.schedule(function()
  if vim.g.loopwise_checked_cmd then
    return
  end
  vim.g.loopwise_checked_cmd = true
  local cmd = vim.lsp.config.loopwise.cmd
  if type(cmd) == 'table' and vim.fn.executable(cmd[1]) == 0 then
    vim.notify(
      ('loopwise: `%s` is not an executable on PATH, so Neovim does not start the loopwise server. '):format(cmd[1])
        .. 'Install it with `cargo install --path . --locked` (or `pip install .`) in a loopwise checkout, '
        .. "or name the binary: vim.lsp.config('loopwise', { cmd = { '/path/to/loopwise', 'server' } })",
      vim.log.levels.WARN
    )
  end
end)

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
