// The `tapegrad` program's subcommands. Each add_* registers one subcommand on the app, with its
// options bound to its own settings, and returns it with what to run when it was chosen.
// An action returns the exit status; errors it throws (tapegrad::Error) are printed by main as
// "tapegrad <command>: error: ..." with status 1.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace tapegrad::cli {

struct Command {
    CLI::App* app = nullptr;    // the subcommand, owned by the parent app
    std::function<int()> run;   // its action; returns the exit status
};

Command add_train_command(CLI::App& parent);
Command add_sample_command(CLI::App& parent);
Command add_info_command(CLI::App& parent);
Command add_gradcheck_command(CLI::App& parent);
Command add_attention_command(CLI::App& parent);
Command add_plot_command(CLI::App& parent);
Command add_mask_command(CLI::App& parent);
Command add_tokenize_command(CLI::App& parent);
Command add_lens_command(CLI::App& parent);
Command add_report_command(CLI::App& parent);

}  // namespace tapegrad::cli
