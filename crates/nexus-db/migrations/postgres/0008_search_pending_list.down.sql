ALTER INDEX notes_search_idx RESET (gin_pending_list_limit);
