// tapegrad: train, sample, inspect and check GPT models from the command line.
//   tapegrad train --data input.txt --steps 2000 --save out/model
//   tapegrad sample --model out/model --prompt "ROMEO:" --tokens 200
//   tapegrad info out/model
//   tapegrad gradcheck [--model out/model]
//   tapegrad attention --model out/model --prompt "ROMEO:" --out attention.svg
//   tapegrad plot metrics.jsonl --out loss.svg
//   tapegrad mask --length 6 --causal --padding "1 1 1 1 0 0"
//   tapegrad tokenize --tokenizer gpt2/ --text "Hello world"
#include <fmt/format.h>

#include <exception>
#include <sstream>
#include <vector>

#include "cli/commands.hpp"
#include "train/distributed.hpp"
#include <tapegrad/version.hpp>

int main(int argc, char** argv) {
    using namespace tapegrad::cli;
    // Under mpirun (docs/distributed.md) MPI runs until main returns; errors end every rank.
    const tapegrad::DistributedRuntime runtime(argc, argv);
    CLI::App app("tapegrad: train, sample, inspect and check GPT models", "tapegrad");
    app.require_subcommand(1);
    app.set_version_flag("--version", fmt::format("tapegrad {}", tapegrad::version()));
    std::vector<Command> commands;
    for (auto add : {add_train_command, add_sample_command, add_info_command, add_gradcheck_command,
                     add_attention_command, add_plot_command, add_mask_command,
                     add_tokenize_command, add_lens_command, add_report_command})
        commands.push_back(add(app));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {  // every rank sees the same arguments: rank 0 reports
        std::ostringstream ignored;
        return runtime.rank() == 0 ? app.exit(e) : app.exit(e, ignored, ignored);
    }
    for (const Command& command : commands) {
        if (!command.app->parsed()) continue;
        try {
            return command.run();
        } catch (const std::exception& e) {  // tapegrad::Error, or std::bad_alloc and the like
            return runtime.fail(fmt::format("tapegrad {}", command.app->get_name()), e.what());
        }
    }
    return 2;
}
