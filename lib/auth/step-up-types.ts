/** What a sensitive action's form gets back when it must confirm first (shared with client components). */
export interface StepUpRequired {
  /** Where the "Confirm it's you" link goes: the confirm page, returning to the action's page. */
  confirmPath: string;
}
