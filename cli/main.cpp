// tapegrad: train, sample, inspect and check GPT models from the command line.
//   tapegrad train --data input.txt --steps 2000 --save out/model
//   tapegrad sample --model out/model --prompt "ROMEO:" --tokens 200
//   tapegrad info out/model
//   tapegrad gradcheck [--model out/model]
//   tapegrad attention --model out/model --prompt "ROMEO:" --out attention.svg
//   tapegrad plot metrics.jsonl --out loss.svg
//   tapegrad mask --length 6 --causal --padding "1 1 1 1 0 0"
#include <fmt/format.h>

#include <exception>
#include <vector>

#include "cli/commands.hpp"
#include "core/version.hpp"

int main(int argc, char** argv) {
    using namespace tapegrad::cli;
    CLI::App app("tapegrad: train, sample, inspect and check GPT models", "tapegrad");
    app.require_subcommand(1);
    app.set_version_flag("--version", fmt::format("tapegrad {}", tapegrad::version()));
    std::vector<Command> commands;
    for (auto add : {add_train_command, add_sample_command, add_info_command, add_gradcheck_command,
                     add_attention_command, add_plot_command, add_mask_command})
        commands.push_back(add(app));
    CLI11_PARSE(app, argc, argv);
    for (const Command& command : commands) {
        if (!command.app->parsed()) continue;
        try {
            return command.run();
        } catch (const std::exception& e) {  // tapegrad::Error, or std::bad_alloc and the like
            fmt::print(stderr, "tapegrad {}: error: {}\n", command.app->get_name(), e.what());
            return 1;
        }
    }
    return 2;
}
