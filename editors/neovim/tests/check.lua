-- The Neovim integration end to end, in a real Neovim 0.11 with only editors/neovim on the
-- runtimepath and `loopwise` on PATH (tests/neovim.rs runs it):
--
--   nvim --headless --clean -u NONE --cmd 'set rtp^=editors/neovim' \
--     -l editors/neovim/tests/check.lua PROJECT/app.py AFTER_QUICK_FIX.py AFTER_FIX_ALL.py
--
-- It opens app.py, waits for loopwise's diagnostics, applies the LW201 quick fix and the
-- fix-all action through `vim.lsp.buf.code_action`, compares the buffer with the expected
-- texts, hovers a finding and stops the server. Every step prints `ok: ...`; the first failure
-- prints `FAIL: ...` and exits with status 1 (a step that waits too long fails the same way).

local file, after_quick_fix, after_fix_all = arg[1], arg[2], arg[3]
local PATIENCE = 20000 -- milliseconds any one step may wait

local notes = {} -- what the server and Neovim said, for the failure message

local function fail(message)
  io.stderr:write('FAIL: ' .. message .. '\n')
  if #notes > 0 then
    io.stderr:write('messages seen:\n  ' .. table.concat(notes, '\n  ') .. '\n')
  end
  io.stderr:flush()
  os.exit(1)
end

local function ok(message)
  io.stdout:write('ok: ' .. message .. '\n')
  io.stdout:flush()
end

local function check(condition, message)
  if not condition then
    fail(message)
  end
end

--- Waits until `condition()` holds; fails with `what` when PATIENCE runs out.
local function wait_for(what, condition)
  if not vim.wait(PATIENCE, condition, 20) then
    fail('timed out after ' .. PATIENCE .. ' ms waiting for ' .. what)
  end
end

local function read_lines(path)
  local handle = io.open(path, 'r')
  check(handle ~= nil, 'cannot read ' .. tostring(path))
  local text = handle:read('*a')
  handle:close()
  return vim.split(text:gsub('\n$', ''), '\n', { plain = true })
end

local function buffer_text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n')
end

local function codes(bufnr)
  local found = {}
  for _, diagnostic in ipairs(vim.diagnostic.get(bufnr)) do
    if diagnostic.source == 'loopwise' then
      table.insert(found, diagnostic.code)
    end
  end
  table.sort(found)
  return table.concat(found, ',')
end

local function loopwise_diagnostic(bufnr, code)
  for _, diagnostic in ipairs(vim.diagnostic.get(bufnr)) do
    if diagnostic.source == 'loopwise' and diagnostic.code == code then
      return diagnostic
    end
  end
end

-- A global watchdog besides the per-step waits: nothing may hang the test.
local watchdog = assert(vim.uv.new_timer())
watchdog:start(6 * PATIENCE, 0, function()
  io.stderr:write('FAIL: the whole check took longer than ' .. 6 * PATIENCE .. ' ms\n')
  os.exit(1)
end)

local function main()
  check(file and after_quick_fix and after_fix_all, 'usage: check.lua APP.py AFTER_QUICK_FIX.py AFTER_FIX_ALL.py')
  local project = vim.fs.dirname(file)

  -- What the server tells the user (errors in settings, failures) goes to notes.
  vim.lsp.handlers['window/showMessage'] = function(_, params)
    table.insert(notes, 'window/showMessage: ' .. params.message)
  end
  local notify = vim.notify
  vim.notify = function(message, level, opts)
    table.insert(notes, 'notify: ' .. tostring(message))
    return notify(message, level, opts)
  end

  -- The configuration comes from editors/neovim/lsp/loopwise.lua on the runtimepath.
  local config = vim.lsp.config.loopwise
  check(config ~= nil, 'vim.lsp.config.loopwise is not defined: is editors/neovim on the runtimepath?')
  check(vim.deep_equal(config.cmd, { 'loopwise', 'server' }), 'cmd: ' .. vim.inspect(config.cmd))
  check(vim.deep_equal(config.filetypes, { 'python' }), 'filetypes: ' .. vim.inspect(config.filetypes))
  check(vim.tbl_contains(config.root_markers, 'pyproject.toml'), 'root_markers: ' .. vim.inspect(config.root_markers))
  ok('lsp/loopwise.lua found on the runtimepath')

  -- A test hook only: how the server process ends.
  local exit_code, exit_signal
  vim.lsp.config('loopwise', {
    on_exit = function(code, signal)
      exit_code, exit_signal = code, signal
    end,
  })

  -- A user's init.lua: filetype detection (off under -u NONE) and the one line of setup.
  vim.cmd('filetype on')
  vim.lsp.enable('loopwise')
  vim.cmd.edit(vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  check(vim.bo[bufnr].filetype == 'python', 'filetype of ' .. file .. ': ' .. vim.bo[bufnr].filetype)

  local client
  wait_for('loopwise to attach', function()
    client = vim.lsp.get_clients({ bufnr = bufnr, name = 'loopwise' })[1]
    return client ~= nil and client.initialized
  end)
  check(client.root_dir == project, 'root_dir ' .. tostring(client.root_dir) .. ', expected ' .. project)
  check(client.offset_encoding == 'utf-8', 'position encoding ' .. client.offset_encoding)
  check(client.server_capabilities.diagnosticProvider ~= nil, 'the server offers no pull diagnostics to Neovim')
  ok('attached: root ' .. client.root_dir .. ', utf-8 positions, pull diagnostics')

  wait_for('LW101, LW201 and LW502 (have: ' .. codes(bufnr) .. ')', function()
    return codes(bufnr) == 'LW101,LW201,LW502'
  end)
  ok('diagnostics ' .. codes(bufnr))

  -- The quick fix of LW201, from the cursor on its line, as a user's mapping would do it.
  local unawaited = loopwise_diagnostic(bufnr, 'LW201')
  vim.api.nvim_win_set_cursor(0, { unawaited.lnum + 1, unawaited.col })
  local offered = {}
  vim.lsp.buf.code_action({
    apply = true,
    context = { only = { 'quickfix' } },
    filter = function(action)
      table.insert(offered, action.title)
      return action.isPreferred == true
        and action.diagnostics ~= nil
        and action.diagnostics[1].code == 'LW201'
    end,
  })
  local expected = table.concat(read_lines(after_quick_fix), '\n')
  wait_for('the LW201 quick fix to change the buffer (offered: ' .. table.concat(offered, '; ') .. ')', function()
    return buffer_text(bufnr) ~= table.concat(read_lines(file), '\n')
  end)
  check(buffer_text(bufnr) == expected, 'after the quick fix:\n' .. buffer_text(bufnr) .. '\nexpected:\n' .. expected)
  ok('quick fix applied (offered: ' .. table.concat(offered, '; ') .. ')')

  wait_for('diagnostics of the fixed text (have: ' .. codes(bufnr) .. ')', function()
    return codes(bufnr) == 'LW101,LW502'
  end)
  ok('diagnostics after the quick fix ' .. codes(bufnr))

  -- Hover on the blocking call.
  local blocking = loopwise_diagnostic(bufnr, 'LW101')
  vim.api.nvim_win_set_cursor(0, { blocking.lnum + 1, blocking.col + 2 })
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local responses, error = vim.lsp.buf_request_sync(bufnr, 'textDocument/hover', params, PATIENCE)
  check(responses ~= nil, 'hover: ' .. tostring(error))
  local response = responses[client.id]
  check(response ~= nil and response.err == nil, 'hover answered ' .. vim.inspect(response))
  local contents = response.result and response.result.contents
  check(type(contents) == 'table' and contents.kind == 'markdown', 'hover contents: ' .. vim.inspect(contents))
  check(contents.value:find('LW101', 1, true) ~= nil, 'the hover does not name LW101:\n' .. contents.value)
  check(contents.value:find('Why is this bad?', 1, true) ~= nil, 'the hover does not explain:\n' .. contents.value)
  ok('hover explains LW101')

  -- Fix-all, which Neovim resolves lazily (codeAction/resolve).
  local before = buffer_text(bufnr)
  vim.lsp.buf.code_action({
    apply = true,
    context = { only = { 'source.fixAll.loopwise' }, diagnostics = {} },
  })
  expected = table.concat(read_lines(after_fix_all), '\n')
  wait_for('fix-all to change the buffer', function()
    return buffer_text(bufnr) ~= before
  end)
  check(buffer_text(bufnr) == expected, 'after fix-all:\n' .. buffer_text(bufnr) .. '\nexpected:\n' .. expected)
  ok('fix-all applied')

  wait_for('diagnostics after fix-all (have: ' .. codes(bufnr) .. ')', function()
    return codes(bufnr) == 'LW101'
  end)
  ok('diagnostics after fix-all ' .. codes(bufnr))

  for _, note in ipairs(notes) do
    check(not note:find('^window/showMessage'), 'the server showed a message: ' .. note)
  end

  client:stop()
  wait_for('the server to exit', function()
    return exit_code ~= nil
  end)
  check(exit_code == 0 and exit_signal == 0, 'the server exited with ' .. exit_code .. ', signal ' .. exit_signal)
  ok('server shut down, exit code 0')
end

local success, problem = xpcall(main, debug.traceback)
if not success then
  fail('error: ' .. tostring(problem))
end
watchdog:stop()
io.stdout:write('PASSED\n')
os.exit(0)
