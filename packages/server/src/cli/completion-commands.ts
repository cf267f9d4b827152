import { Argument, type Command } from 'commander';
import { print } from './output.js';

const words = (cmd: Command) => cmd.options.map((o) => o.long).filter((o): o is string => o !== undefined);

/** Bash `case` arms: the options of every command path, keyed by `<command> <subcommand>`. */
function optionArms(program: Command): string[] {
  return program.commands.flatMap((cmd) => {
    const own = `      '${cmd.name()} '*) opts="${[...words(cmd), '--help'].join(' ')}" ;;`;
    const subs = cmd.commands.map(
      (sub) => `      '${cmd.name()} ${sub.name()}') opts="${[...words(sub), '--help'].join(' ')}" ;;`,
    );
    return cmd.commands.length > 0 ? subs : [own];
  });
}

/** A bash completion script for the program as built (commands, subcommands and options). */
export function bashCompletion(program: Command): string {
  const top = [...program.commands.map((c) => c.name()), ...words(program), '--help'].join(' ');
  const subArms = program.commands
    .filter((c) => c.commands.length > 0)
    .map((c) => `      ${c.name()}) subs="${c.commands.map((s) => s.name()).join(' ')}" ;;`);
  return [
    '# keyroll completion for bash: eval "$(keyroll completion bash)"',
    '_keyroll() {',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash parameter expansion, not a JS template
    '  local cur="${COMP_WORDS[COMP_CWORD]}" cmd="${COMP_WORDS[1]}" sub="${COMP_WORDS[2]}" subs="" opts=""',
    '  if [ "$COMP_CWORD" -eq 1 ]; then',
    `    COMPREPLY=($(compgen -W "${top}" -- "$cur")); return`,
    '  fi',
    '  case "$cmd" in',
    ...subArms,
    '  esac',
    '  if [ -n "$subs" ] && [ "$COMP_CWORD" -eq 2 ]; then',
    '    COMPREPLY=($(compgen -W "$subs" -- "$cur")); return',
    '  fi',
    '  [ -n "$subs" ] || sub=""',
    '  case "$cmd $sub" in',
    ...optionArms(program),
    '  esac',
    '  COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
    '}',
    'complete -F _keyroll keyroll',
    '',
  ].join('\n');
}

/** A zsh completion script: the bash one, through zsh's `bashcompinit`. */
export function zshCompletion(program: Command): string {
  return [
    '# keyroll completion for zsh: eval "$(keyroll completion zsh)"',
    'autoload -U +X compinit && compinit',
    'autoload -U +X bashcompinit && bashcompinit',
    bashCompletion(program).split('\n').slice(1).join('\n'),
  ].join('\n');
}

/** `keyroll completion bash|zsh`: prints a shell completion script for every command and option. */
export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: eval "$(keyroll completion bash)"')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .option('--json', 'print JSON')
    .action((shell: 'bash' | 'zsh', opts) => {
      const script = shell === 'bash' ? bashCompletion(program) : zshCompletion(program);
      if (opts.json) print(true, { shell, script }, () => []);
      else process.stdout.write(script);
    });
}
